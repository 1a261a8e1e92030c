# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Map an Ultralytics YOLO11 state dict onto this package's YOLO11 modules.

Ultralytics numbers its layers (``model.<i>.``, as in ``yolo11.yaml``); the
mmdet detector names them by role. Inside a block the Ultralytics names
(``cv1`` / ``cv2`` / ``cv3`` / ``m``) mean different things per block type,
so the renaming follows the block of each layer::

    0          backbone.stem              Conv
    1, 2       backbone.stage1.{0,1}      Conv, C3k2
    3, 4       backbone.stage2.{0,1}      Conv, C3k2
    5, 6       backbone.stage3.{0,1}      Conv, C3k2
    7..10      backbone.stage4.{0..3}     Conv, C3k2, SPPF, C2PSA
    13, 16     neck.top_down_blocks.{0,1}     C3k2
    17, 20     neck.downsamples.{0,1}         Conv
    19, 22     neck.bottom_up_blocks.{0,1}    C3k2
    23         bbox_head                  Detect

(11, 12, 14, 15, 18, 21 are upsampling / concatenation, without weights.)
"""
from typing import Dict, List, Tuple

from torch import Tensor

__all__ = [
    'YOLO11_LAYERS', 'convert_yolo11_state_dict', 'yolo11_arch_of',
    'load_ultralytics_state_dict'
]

#: Ultralytics layer index -> (mmdet prefix, block type)
YOLO11_LAYERS: Dict[int, Tuple[str, str]] = {
    0: ('backbone.stem', 'conv'),
    1: ('backbone.stage1.0', 'conv'),
    2: ('backbone.stage1.1', 'c3k2'),
    3: ('backbone.stage2.0', 'conv'),
    4: ('backbone.stage2.1', 'c3k2'),
    5: ('backbone.stage3.0', 'conv'),
    6: ('backbone.stage3.1', 'c3k2'),
    7: ('backbone.stage4.0', 'conv'),
    8: ('backbone.stage4.1', 'c3k2'),
    9: ('backbone.stage4.2', 'sppf'),
    10: ('backbone.stage4.3', 'c2psa'),
    13: ('neck.top_down_blocks.0', 'c3k2'),
    16: ('neck.top_down_blocks.1', 'c3k2'),
    17: ('neck.downsamples.0', 'conv'),
    19: ('neck.bottom_up_blocks.0', 'c3k2'),
    20: ('neck.downsamples.1', 'conv'),
    22: ('neck.bottom_up_blocks.1', 'c3k2'),
    23: ('bbox_head', 'head'),
}

_BOTTLENECK = dict(cv1='conv1', cv2='conv2')
_C3K = dict(cv1='main_conv', cv2='short_conv', cv3='final_conv', m='blocks')
_C2F = dict(cv1='main_conv', cv2='final_conv', m='blocks')  # C3k2, C2PSA
_SPPF = dict(cv1='conv1', cv2='conv2')


def _rename(names: Dict[str, str], toks: List[str], key: str) -> str:
    if toks[0] not in names:
        raise KeyError(f'unexpected YOLO11 weight {key!r} ({toks[0]!r} is '
                       f'not one of {sorted(names)})')
    return names[toks[0]]


def _convert_block(kind: str, toks: List[str], c3k: bool, key: str) -> str:
    """Rename the part of a key after the layer index."""
    if kind == 'conv':
        return '.'.join(toks)
    if kind == 'sppf':
        return '.'.join([_rename(_SPPF, toks, key)] + toks[1:])
    if kind in ('c3k2', 'c2psa'):
        head = _rename(_C2F, toks, key)
        if head != 'blocks':
            return '.'.join([head] + toks[1:])
        rest = toks[2:]
        if kind == 'c2psa':  # PSABlock: attn.{qkv,proj,pe}, ffn.{0,1}
            inner = '.'.join(rest)
        elif c3k:
            inner = _convert_block('c3k', rest, False, key)
        else:
            inner = '.'.join([_rename(_BOTTLENECK, rest, key)] + rest[1:])
        return f'blocks.{toks[1]}.{inner}'
    if kind == 'c3k':
        head = _rename(_C3K, toks, key)
        if head != 'blocks':
            return '.'.join([head] + toks[1:])
        rest = toks[2:]
        return (f'blocks.{toks[1]}.' +
                '.'.join([_rename(_BOTTLENECK, rest, key)] + rest[1:]))
    raise ValueError(kind)


def _convert_head(toks: List[str], key: str) -> str:
    """Rename a Detect weight: cv2 = box branch, cv3 = class branch."""
    if toks[0] == 'dfl':
        return 'dfl_bins'
    if toks[0] not in ('cv2', 'cv3') or len(toks) < 4:
        raise KeyError(f'unexpected YOLO11 head weight {key!r}; only the '
                       'Detect head (cv2 / cv3 / dfl) is supported')
    level, part = toks[1], int(toks[2])
    if toks[0] == 'cv2':
        if part == 2:
            return f'reg_preds.{level}.' + '.'.join(toks[3:])
        return f'reg_convs.{level}.{part}.' + '.'.join(toks[3:])
    if part == 2:
        return f'cls_preds.{level}.' + '.'.join(toks[3:])
    # cv3.<l>.<0|1>.<0|1>: two (depthwise, pointwise) pairs
    return f'cls_convs.{level}.{2 * part + int(toks[3])}.' + '.'.join(
        toks[4:])


def convert_yolo11_state_dict(state_dict: Dict[str, Tensor],
                              prefix: str = 'model.') -> Dict[str, Tensor]:
    """Convert an Ultralytics YOLO11 detection state dict.

    Args:
        state_dict (dict[str, Tensor]): ``DetectionModel.state_dict()``
            (keys ``model.<i>.…``); half-precision tensors become float32.
        prefix (str): Prefix of the Ultralytics keys.

    Returns:
        dict[str, Tensor]: keys of this package's YOLO11 detector
        (``backbone.`` / ``neck.`` / ``bbox_head.``), loadable with
        ``strict=True`` into a stock YOLO11 detector of the same scale and
        class count.

    Raises:
        KeyError: a key that is not part of YOLO11's detection layout
            (another YOLO version or task).
    """
    layers_c3k = {
        int(k[len(prefix):].split('.')[0])
        for k in state_dict if k.startswith(prefix) and '.m.0.cv3.' in k
    }
    out: Dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            raise KeyError(f'{key!r} does not start with {prefix!r}: not an '
                           'Ultralytics DetectionModel state dict')
        idx_s, *toks = key[len(prefix):].split('.')
        idx = int(idx_s)
        if idx not in YOLO11_LAYERS:
            raise KeyError(f'{key!r}: layer {idx} has no weights in YOLO11 '
                           '(is this another YOLO version?)')
        dst, kind = YOLO11_LAYERS[idx]
        if kind == 'head':
            name = _convert_head(toks, key)
        else:
            name = _convert_block(kind, toks, idx in layers_c3k, key)
        if value.is_floating_point():
            value = value.float()
        if name == 'dfl_bins':
            value = value.reshape(-1)
        out[f'{dst}.{name}'] = value
    return out


def yolo11_arch_of(state_dict: Dict[str, Tensor],
                   prefix: str = 'model.') -> Tuple[str, int]:
    """``(scale, num_classes)`` of an Ultralytics YOLO11 state dict.

    The scale is read from the stem's width (n 16, s 32, m 64, l 64 with
    deeper stages, x 96) and the class count from the classifier.
    """
    stem = state_dict[f'{prefix}0.conv.weight'].shape[0]
    num_classes = state_dict[f'{prefix}23.cv3.0.2.weight'].shape[0]
    deep = any(k.startswith(f'{prefix}2.m.1.') for k in state_dict)
    arch = {16: 'n', 32: 's', 64: 'l' if deep else 'm', 96: 'x'}.get(stem)
    if arch is None:
        raise ValueError(f'stem width {stem} is not one of YOLO11 n / s / m '
                         '/ l / x (16 / 32 / 64 / 64 / 96)')
    return arch, int(num_classes)


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [''])[0][:200]


def load_ultralytics_state_dict(path: str) -> Dict[str, Tensor]:
    """The detection state dict in an Ultralytics checkpoint file.

    Accepts a plain state dict (``torch.save(model.state_dict(), f)``),
    loaded without unpickling code, or a full Ultralytics checkpoint
    (``yolo11n.pt``: pickled model objects under ``model`` / ``ema``),
    which needs the ``ultralytics`` package to unpickle; the EMA weights
    are taken when present.

    Raises:
        FileNotFoundError: no such file.
        ValueError: what the file is and what to do when it cannot be read.
    """
    import os.path as osp
    import pickle

    import torch
    if not osp.isfile(path):
        raise FileNotFoundError(f'no checkpoint at {path!r}')
    not_a_checkpoint = (
        f'{path!r} ({osp.getsize(path)} bytes) is not a PyTorch checkpoint '
        'that torch.load can read (neither a zip archive written by '
        'torch.save nor a pickle; maybe another format, or a truncated or '
        'partly downloaded file). Give an Ultralytics YOLO11 checkpoint '
        '(yolo11n.pt ... yolo11x.pt, from the Ultralytics releases) or a '
        'state dict saved with torch.save(model.state_dict(), f)')
    with open(path, 'rb') as f:
        head = f.read(4)
    # torch.save writes a zip archive (PK..), older torch a pickle (0x80)
    if not (head == b'PK\x03\x04' or head[:1] == b'\x80'):
        raise ValueError(f'{not_a_checkpoint} (it starts with {head!r}).')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as safe_err:
        from ...utils.safe_checkpoint import _refused_global
        if _refused_global(str(safe_err)) is None:
            # not a refused class (model objects) but a broken pickle
            detail = str(safe_err).strip().splitlines()[-1][:200]
            raise ValueError(f'{not_a_checkpoint} (torch said: {detail}).'
                             ) from None
        # pickled model objects
        try:
            import ultralytics  # noqa: F401
        except ImportError:
            raise ValueError(
                f'{path} is a full Ultralytics checkpoint (pickled model '
                'objects); unpickling it needs the `ultralytics` package. '
                'Install it (pip install ultralytics), or on a machine that '
                'has it save the plain state dict and convert that: python '
                '-c "import torch; from ultralytics import YOLO; torch.save('
                'YOLO(\'yolo11n.pt\').model.state_dict(), \'sd.pt\')"'
            ) from safe_err
        obj = torch.load(path, map_location='cpu', weights_only=False)
    except (RuntimeError, EOFError, ValueError, KeyError) as e:
        # e.g. a zip that is not torch's, an empty or truncated file
        raise ValueError(f'{not_a_checkpoint} (torch said: '
                         f'{type(e).__name__}: {_first_line(e)}).') from None
    if isinstance(obj, dict) and ('model' in obj or 'ema' in obj):
        obj = obj.get('ema') or obj['model']
    if hasattr(obj, 'state_dict'):
        obj = obj.float().state_dict()
    if not (isinstance(obj, dict) and obj
            and all(isinstance(v, torch.Tensor) for v in obj.values())):
        raise ValueError(f'{path} holds neither an Ultralytics model nor a '
                         'state dict of tensors')
    return obj
