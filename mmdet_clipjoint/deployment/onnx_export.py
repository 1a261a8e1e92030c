# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ONNX export of the one-stage detectors (RTMDet, YOLOX, YOLO11, stock and
ClipJoint heads) up to decoded boxes and per-class scores.

The exported graph is ``inputs`` (B, 3, H, W), the *normalised* batch the
detector's ``data_preprocessor`` would produce, -> backbone -> neck -> head
-> ``boxes`` (B, N, 4) xyxy in input pixels (not clipped) and ``scores``
(B, N, C), N = sum over levels of H_l * W_l, in the stock prior order. The
scores are exactly what the head's ``predict_by_feat`` thresholds:

* ``det``: ``sigmoid(cls)`` (YOLOX: times ``sigmoid(objectness)``);
* ``clip`` / ``fuse`` (ClipJoint heads): the branch over **every** location
  (:meth:`ClipJointDenseMixin.fuse_mlvl_scores` with ``score_thr=0``, the
  dense path); the text bank's embeddings and temperatures are constants
  of the graph (initializers), not inputs.

Score thresholding, top-k, class-aware NMS and rescaling are data-dependent
and stay outside the graph: :class:`~.onnx_runtime.ONNXDetector` runs them.
The pre- and post-processing settings (image size, mean / std, padding
value, ``test_cfg``, class names) are stored in the model's
``metadata_props`` under :data:`META_KEY`, so running the file needs no
config.

``torch.onnx.export`` (the TorchScript exporter) is used rather than
mmdeploy: mmdeploy 1.3.1 pins ``protobuf<=3.20.2`` while the project's
tensorboard needs ``protobuf>=6.31`` (``pip check`` breaks), and its
rewriters do not know the ClipJoint / YOLO11 heads anyway.
"""
import copy
import inspect
import json
import numbers
import os
import os.path as osp
import warnings
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from ..models.dense_heads import ClipJointDenseMixin, YOLO11Head
from ..models.layers.score_fusion import check_score_mode
from ..version import __version__

__all__ = [
    'META_KEY', 'INPUT_NAME', 'OUTPUT_NAMES', 'SUPPORTED_HEADS',
    'ONNXExportWrapper', 'build_detector', 'infer_input_shape',
    'check_input_shape', 'check_export_config', 'export_meta', 'export_onnx'
]

#: key of the JSON metadata entry in the ONNX model's ``metadata_props``
META_KEY = 'mmdet_clipjoint'
#: graph input (B, 3, H, W), normalised as the data preprocessor does
INPUT_NAME = 'inputs'
#: graph outputs: boxes (B, N, 4) xyxy input pixels, scores (B, N, C)
OUTPUT_NAMES = ('boxes', 'scores')
#: head families the wrapper decodes (stock and ClipJoint subclasses)
SUPPORTED_HEADS = ('RTMDetHead', 'YOLOXHead', 'YOLO11Head')

_INSTALL_HINT = ('ONNX export needs the `onnx` package: '
                 'pip install "mmdet_clipjoint[deploy]" (onnx + onnxruntime).')


def _import_onnx():
    """``import onnx`` with an error that names the install command."""
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - depends on the env
        raise ImportError(_INSTALL_HINT) from e
    return onnx


_TWO_STAGE = (
    'ONNX export is not supported for two-stage detectors ({name}): the '
    'RoI stage (proposals, per-image RoIAlign, the ClipJoint RoI head) is '
    'data-dependent and is not exported. Export a one-stage config '
    '(configs/clipjoint_rtmdet, clipjoint_yolox, clipjoint_yolo11 or their '
    'stock twins) instead.')


def _head_family(head_cls: type) -> str:
    """``'yolox'``, ``'yolo11'`` or ``'rtmdet'`` for a head class;
    ValueError for any other head."""
    from mmdet.models.dense_heads import RTMDetHead, YOLOXHead
    for base, family in ((YOLOXHead, 'yolox'), (YOLO11Head, 'yolo11'),
                         (RTMDetHead, 'rtmdet')):
        if issubclass(head_cls, base):
            return family
    raise ValueError(
        f'ONNX export does not support the head {head_cls.__name__}: it '
        f'decodes {", ".join(SUPPORTED_HEADS)} and their ClipJoint '
        'subclasses (ClipJointRTMDetHead, ClipJointYOLOXHead, '
        'ClipJointYOLOHead). Use one of those configs.')


def _check_mode_for_head(head_cls: type, score_mode: str) -> None:
    """``clip`` / ``fuse`` need a ClipJoint head class."""
    check_score_mode(score_mode, 0.5)
    if score_mode != 'det' and not issubclass(head_cls, ClipJointDenseMixin):
        raise ValueError(
            f'score_mode={score_mode!r} needs a ClipJoint head (one with a '
            f'text bank); this config\'s head is {head_cls.__name__}. Use '
            '--score-mode det (score_mode="det") or a ClipJoint config '
            '(configs/clipjoint_*).')


def _check_detector(model: nn.Module, score_mode: str) -> nn.Module:
    """The one-stage detector's bbox head; a clear error for the rest."""
    name = type(model).__name__
    if hasattr(model, 'roi_head') or hasattr(model, 'rpn_head'):
        raise ValueError(_TWO_STAGE.format(name=name))
    head = getattr(model, 'bbox_head', None)
    if head is None or not hasattr(model, 'extract_feat'):
        raise ValueError(
            f'ONNX export needs a one-stage mmdet detector with a bbox_head '
            f'(e.g. RTMDet, YOLOX); got {name}.')
    _head_family(type(head))
    _check_mode_for_head(type(head), score_mode)
    return head


def check_export_config(cfg, score_mode: str = 'det') -> None:
    """The detector / head / score-mode errors of :func:`export_onnx`, from
    the config alone (nothing is built or loaded).

    Args:
        cfg (Config): A detector config.
        score_mode (str): ``det``, ``clip`` or ``fuse``.

    Raises:
        ValueError: a two-stage detector, an unsupported head, an unknown
            mode, or ``clip`` / ``fuse`` with a head that is not a ClipJoint
            one.
    """
    import mmdet_clipjoint  # noqa: F401  (registers the heads)
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    check_score_mode(score_mode, 0.5)
    model_cfg = cfg.get('model', {})
    if 'roi_head' in model_cfg or 'rpn_head' in model_cfg:
        raise ValueError(_TWO_STAGE.format(name=model_cfg.get('type')))
    head_type = (model_cfg.get('bbox_head') or {}).get('type')
    if head_type is None:
        return  # not a dense detector: the model check names it
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    head_cls = MODELS.get(head_type) if isinstance(head_type, str) \
        else head_type
    if isinstance(head_cls, type):
        _head_family(head_cls)
        _check_mode_for_head(head_cls, score_mode)


@contextmanager
def _head_score_mode(head: nn.Module, score_mode: str) -> Iterator[None]:
    """Set a ClipJoint head's ``score_mode`` for the block, then restore."""
    if not isinstance(head, ClipJointDenseMixin):
        yield
        return
    old = head.score_mode
    head.score_mode = score_mode
    try:
        yield
    finally:
        head.score_mode = old


class ONNXExportWrapper(nn.Module):
    """A one-stage detector as ``inputs -> (boxes, scores)``, traceable.

    The same module is the PyTorch reference of the exported graph: it calls
    the detector's own ``extract_feat``, head ``forward``, prior generator,
    box decoding and (ClipJoint heads) :meth:`fuse_mlvl_scores`, so its
    outputs are the candidates that the head's ``predict_by_feat`` filters,
    before thresholding, top-k and NMS.

    Args:
        detector (nn.Module): An mmdet one-stage detector whose
            ``bbox_head`` is an RTMDet, YOLOX or YOLO11 head (stock or
            ClipJoint), in eval mode.
        score_mode (str): ``det``, ``clip`` or ``fuse`` (the last two need a
            ClipJoint head). The head's own ``score_mode`` is set only while
            :meth:`forward` runs.
    """

    def __init__(self, detector: nn.Module, score_mode: str = 'det') -> None:
        super().__init__()
        head = _check_detector(detector, score_mode)
        self.detector = detector
        self.family = _head_family(type(head))
        self.score_mode = score_mode

    @property
    def head(self) -> nn.Module:
        return self.detector.bbox_head

    def _priors(self, cls_scores: Sequence[Tensor],
                with_stride: bool) -> Tensor:
        """All levels' priors, (N, 2) points or (N, 4) with strides."""
        sizes = [s.shape[-2:] for s in cls_scores]
        return torch.cat(
            self.head.prior_generator.grid_priors(
                sizes,
                dtype=cls_scores[0].dtype,
                device=cls_scores[0].device,
                with_stride=with_stride))

    @staticmethod
    def _flatten(mlvl: Sequence[Tensor]) -> Tensor:
        """Per level (B, K, H_l, W_l) -> (B, N, K), stock prior order."""
        return torch.cat([x.flatten(2) for x in mlvl], dim=2).transpose(1, 2)

    def forward(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Decoded boxes and per-class scores of every location.

        Args:
            inputs (Tensor): normalised images, shape (B, 3, H, W), H and W
                multiples of the largest stride.

        Returns:
            tuple[Tensor]: ``boxes`` (B, N, 4) xyxy in input pixels (not
            clipped to the image) and ``scores`` (B, N, C) in [0, 1].
        """
        head = self.head
        with _head_score_mode(head, self.score_mode):
            outs = head(self.detector.extract_feat(inputs))
            cls_scores, bbox_preds = outs[0], outs[1]
            objectness = outs[2] if self.family == 'yolox' else None
            n_stock = 3 if self.family == 'yolox' else 2
            cls_feats = outs[n_stock] if len(outs) > n_stock else None
            if isinstance(head, ClipJointDenseMixin) and \
                    self.score_mode != 'det':
                # score_thr=0: the dense path (every location embedded);
                # the sparse one is data-dependent (PyTorch only)
                cls_scores = head.fuse_mlvl_scores(
                    cls_scores, cls_feats, 0.0, score_factors=objectness)
        scores = self._flatten(cls_scores).sigmoid()  # (B, N, C)
        if self.family == 'yolox':
            priors = self._priors(cls_scores, with_stride=True)
            boxes = head._bbox_decode(priors, self._flatten(bbox_preds))
            scores = scores * self._flatten(objectness).sigmoid()
        else:
            if self.family == 'yolo11':
                bbox_preds = [
                    head.dist_to_distance(d, 1) * s
                    for d, s in zip(bbox_preds, head.strides)
                ]
            dists = self._flatten(bbox_preds)  # (B, N, 4)
            priors = self._priors(cls_scores, with_stride=False)
            boxes = head.bbox_coder.decode(
                priors[None].expand(dists.size(0), -1, -1), dists)
        return boxes, scores


# ----------------------------------------------------------------------
# building, shapes, metadata
# ----------------------------------------------------------------------
def build_detector(config, checkpoint: Optional[str] = None,
                   cfg_options: Optional[dict] = None) -> nn.Module:
    """A detector on CPU in eval mode, from a config and a checkpoint.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file; None keeps the
            initialised weights (``init_weights``: random heads, text banks
            from their init source) -- for smoke tests only.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: the detector, with ``cfg`` (the config) and
        ``dataset_meta`` set.
    """
    import mmdet_clipjoint  # noqa: F401  (registers the modules)
    from mmdet.apis import init_detector
    from mmengine.config import Config
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config} does not exist.')
        config = Config.fromfile(config)
    else:
        config = copy.deepcopy(config)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist.')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_detector(config, checkpoint, device='cpu')
    if checkpoint is None:
        model.init_weights()
        bank = getattr(getattr(model, 'bbox_head', None), 'text_bank', None)
        if bank is not None:
            model.dataset_meta = dict(classes=tuple(bank.class_names))
    return model.eval()


def _test_pipeline(cfg) -> list:
    if cfg is None:
        return []
    try:
        from mmdet.utils import get_test_pipeline_cfg
        return list(get_test_pipeline_cfg(cfg))
    except (AttributeError, KeyError, RuntimeError):  # no test dataloader
        return list(cfg.get('test_pipeline', None) or [])


def _hw(size) -> Optional[Tuple[int, int]]:
    """mmcv's ``(w, h)`` (or one int) as ``(h, w)``."""
    if isinstance(size, int):
        return size, size
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(
            isinstance(x, int) for x in size):
        return int(size[1]), int(size[0])
    return None


def infer_input_shape(cfg) -> Optional[Tuple[int, int]]:
    """The fixed (H, W) of a config's test pipeline, or None.

    ``Pad(size=...)`` wins, else ``Resize(scale=...)`` (with
    ``pad_to_square``: the square of its longer side).
    """
    pad = resize = None
    square = False
    for t in _test_pipeline(cfg):
        kind = str(t.get('type', '')).split('.')[-1]
        if kind == 'Pad':
            pad = _hw(t.get('size'))
            square = bool(t.get('pad_to_square', False))
        elif kind in ('Resize', 'FixScaleResize'):
            resize = _hw(t.get('scale'))
    if pad is not None:
        return pad
    if resize is not None and square:
        s = max(resize)
        return s, s
    return resize


def check_input_shape(shape, head: nn.Module) -> Tuple[int, int]:
    """Validate an (H, W) export shape against the head's strides.

    Returns:
        tuple[int]: ``(H, W)``.

    Raises:
        ValueError: not two positive integers, or not multiples of the
            largest stride.
    """
    if shape is None or len(shape) != 2 or not all(
            isinstance(x, numbers.Integral) and not isinstance(x, bool)
            and x > 0 for x in shape):
        raise ValueError(
            f'shape={shape!r} is not a valid input size: give two positive '
            'integers H W (e.g. --shape 640 640).')
    strides = [max(s) if isinstance(s, (tuple, list)) else s
               for s in head.prior_generator.strides]
    s = int(max(strides))
    h, w = int(shape[0]), int(shape[1])
    if h % s or w % s:
        up = (-(-h // s) * s, -(-w // s) * s)
        raise ValueError(
            f'shape=({h}, {w}) is not a multiple of the largest stride '
            f'({s}) of {type(head).__name__}: the feature maps would not '
            f'tile the input. Use e.g. --shape {up[0]} {up[1]}.')
    return h, w


def _preprocess_meta(model: nn.Module, cfg) -> dict:
    """mean / std / channel order / padding of the detector's input."""
    pre = model.data_preprocessor
    normalize = bool(getattr(pre, '_enable_normalize', False))
    mean = pre.mean.flatten().tolist() if normalize else [0.0, 0.0, 0.0]
    std = pre.std.flatten().tolist() if normalize else [1.0, 1.0, 1.0]
    bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
    keep_ratio, raw_pad, pipeline_pad = True, None, False
    for t in _test_pipeline(cfg):
        kind = str(t.get('type', '')).split('.')[-1]
        if kind in ('Resize', 'FixScaleResize'):
            keep_ratio = bool(t.get('keep_ratio', True))
        elif kind == 'Pad':
            pipeline_pad = True
            val = t.get('pad_val', dict(img=0))
            val = val.get('img', 0) if isinstance(val, dict) else val
            raw_pad = [float(val)] * 3 if isinstance(
                val, (int, float)) else [float(v) for v in val]
    if raw_pad is not None:
        # the pipeline pads raw (BGR) pixels; the graph sees them flipped
        # and normalised
        rgb = raw_pad[::-1] if bgr_to_rgb else raw_pad
        pad = [(v - m) / s for v, m, s in zip(rgb, mean, std)]
    else:  # the data preprocessor pads the normalised batch
        pad = [float(getattr(pre, 'pad_value', 0))] * 3
    # mmdet's Pad transform sets ``img_shape`` to the padded size (the
    # head then clips boxes to it); the preprocessor's padding does not
    return dict(mean=mean, std=std, bgr_to_rgb=bgr_to_rgb,
                keep_ratio=keep_ratio, pad_value=pad,
                img_shape_is_padded=pipeline_pad)


def _classes(model: nn.Module) -> Optional[List[str]]:
    meta = getattr(model, 'dataset_meta', None) or {}
    if meta.get('classes'):
        return [str(c) for c in meta['classes']]
    bank = getattr(model.bbox_head, 'text_bank', None)
    return list(bank.class_names) if bank is not None else None


def export_meta(model: nn.Module, score_mode: str, shape: Tuple[int, int],
                dynamic_batch: bool, opset: int, cfg=None) -> dict:
    """What :class:`~.onnx_runtime.ONNXDetector` needs to run the graph.

    Returns:
        dict: JSON-serialisable: the input layout (``input_shape``,
        ``mean``, ``std``, ``bgr_to_rgb``, ``keep_ratio``, ``pad_value`` in
        normalised units, ``img_shape_is_padded``), the post-process (``test_cfg`` subset,
        ``multi_label``, ``clip_border``, ``level_sizes``), ``classes``
        and provenance (``head``, ``score_mode``, ``opset``, version).
    """
    head = model.bbox_head
    family = _head_family(type(head))
    test_cfg = dict(head.test_cfg or {})
    nms = dict(test_cfg.get('nms') or dict(type='nms', iou_threshold=0.65))
    h, w = shape
    strides = [s if isinstance(s, (tuple, list)) else (s, s)
               for s in head.prior_generator.strides]
    meta = dict(
        format_version=1,
        mmdet_clipjoint_version=__version__,
        detector=type(model).__name__,
        head=type(head).__name__,
        family=family,
        score_mode=score_mode,
        fuse_alpha=getattr(head, 'fuse_alpha', None),
        # > 0: the fused graph weighs each class by its training count
        # (constants of the graph, from the text bank)
        fuse_frequency_power=getattr(head, 'fuse_frequency_power', 0.0),
        objectness_power=getattr(head, 'objectness_power', None),
        num_classes=int(head.num_classes),
        classes=_classes(model),
        input_shape=[h, w],
        dynamic_batch=bool(dynamic_batch),
        opset=int(opset),
        strides=[[int(s[0]), int(s[1])] for s in strides],
        level_sizes=[(h // int(s[1])) * (w // int(s[0])) for s in strides],
        # RTMDet / YOLO11 (BaseDenseHead): every (location, class) above
        # the threshold, top-k per level; YOLOX: the best class per location
        multi_label=family != 'yolox',
        clip_border=bool(getattr(getattr(head, 'bbox_coder', None),
                                 'clip_border', False))
        and family != 'yolox',
        test_cfg=dict(
            score_thr=float(test_cfg.get('score_thr', 0.0)),
            nms_pre=int(test_cfg.get('nms_pre', -1)),
            max_per_img=int(test_cfg.get('max_per_img', 100)),
            min_bbox_size=float(test_cfg.get('min_bbox_size', -1)),
            nms={k: (float(v) if isinstance(v, (int, float)) else v)
                 for k, v in nms.items()}),
    )
    meta.update(_preprocess_meta(model, cfg))
    return meta


# ----------------------------------------------------------------------
# export
# ----------------------------------------------------------------------
def export_onnx(cfg_or_model: Union[str, 'Config', nn.Module],  # noqa: F821
                out: str,
                score_mode: str = 'det',
                shape: Optional[Sequence[int]] = None,
                dynamic_batch: bool = False,
                opset: int = 17,
                checkpoint: Optional[str] = None,
                fuse_alpha: Optional[float] = None) -> dict:
    """Export a one-stage detector to ONNX (boxes and scores, no NMS).

    Args:
        cfg_or_model: A config file / ``Config`` (built with
            :func:`build_detector` and ``checkpoint``) or a built detector
            (its ``cfg`` attribute, when set, gives the test pipeline).
        out (str): Output ``.onnx`` file.
        score_mode (str): ``det``, ``clip`` or ``fuse``.
        shape (Sequence[int], optional): Input (H, W); default: the
            config's test pipeline size (``Pad`` / ``Resize``).
        dynamic_batch (bool): Make the batch dimension dynamic (default:
            batch 1).
        opset (int): ONNX opset version.
        checkpoint (str, optional): Weights, when a config is given.
        fuse_alpha (float, optional): Override the head's ``fuse_alpha``.

    Returns:
        dict: The metadata stored in the model (:func:`export_meta`) plus
        ``path``.

    Raises:
        ValueError: two-stage / unsupported detectors, ``clip`` / ``fuse``
            on a stock head, an unknown mode, or a bad or unknown shape.
    """
    onnx = _import_onnx()
    check_score_mode(score_mode, 0.5 if fuse_alpha is None else fuse_alpha)
    if isinstance(cfg_or_model, nn.Module):
        model, cfg = cfg_or_model, getattr(cfg_or_model, 'cfg', None)
    else:
        from mmengine.config import Config
        cfg = Config.fromfile(cfg_or_model) if isinstance(
            cfg_or_model, str) and osp.isfile(cfg_or_model) else cfg_or_model
        if isinstance(cfg, Config):
            # fail on the head before building (and loading) anything
            check_export_config(cfg, score_mode)
        model = build_detector(cfg, checkpoint)
    head = _check_detector(model, score_mode)
    if shape is None:
        shape = infer_input_shape(cfg)
        if shape is None:
            raise ValueError(
                'cannot infer the input size: the config has no test '
                'pipeline with a Resize scale / Pad size (or no config was '
                'given with the model). Pass the size: --shape H W '
                '(shape=(H, W)).')
    shape = check_input_shape(tuple(shape), head)
    model.eval()
    wrapper = ONNXExportWrapper(model, score_mode).eval()
    old_alpha = getattr(head, 'fuse_alpha', None)
    if fuse_alpha is not None and old_alpha is not None:
        head.fuse_alpha = fuse_alpha
    try:
        meta = export_meta(model, score_mode, shape, dynamic_batch, opset,
                           cfg)
        dummy = torch.zeros(1, 3, *shape)
        dirname = osp.dirname(osp.abspath(out))
        os.makedirs(dirname, exist_ok=True)
        dynamic_axes = {
            INPUT_NAME: {0: 'batch'},
            **{name: {0: 'batch'} for name in OUTPUT_NAMES}
        } if dynamic_batch else None
        kwargs = dict(input_names=[INPUT_NAME],
                      output_names=list(OUTPUT_NAMES),
                      dynamic_axes=dynamic_axes, opset_version=opset,
                      do_constant_folding=True)
        if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
            kwargs['dynamo'] = False  # the TorchScript exporter
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(wrapper, (dummy, ), out, **kwargs)
    finally:
        if fuse_alpha is not None and old_alpha is not None:
            head.fuse_alpha = old_alpha
    proto = onnx.load(out)
    onnx.checker.check_model(proto)
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta)
    onnx.save(proto, out)
    return dict(meta, path=out)

