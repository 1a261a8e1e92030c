# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Refuse to evaluate or run a model with another model's checkpoint.

mmengine loads checkpoints with ``strict=False``: the keys that do not match
only produce a warning, which for a whole detector is hundreds of lines long
and easy to miss. Giving the weights of one model to another (an RTMDet
checkpoint to a Faster R-CNN config) then "works" and evaluates a mostly
random network (mAP 0.013 instead of an error).

:func:`register_checkpoint_match_check` (run on ``import mmdet_clipjoint``,
so ``tools/test.py``, ``mim test``, ``init_detector`` and ``DetInferencer``
all get it) wraps mmengine's ``load_state_dict``: when the checkpoint
provides less than :data:`MIN_COVERAGE` of the model's weight values (with
the right shapes), loading it to **evaluate** (``runner.test()`` /
``val()``), for **inference** (``init_detector``, ``DetInferencer``) or to
**resume** raises :class:`CheckpointMismatchError`, which names the model
(its config when known) and the checkpoint. Training from another model's
weights (``load_from``) and pretrained initialisation of parts
(``init_cfg``) only warn, in one line.

The override, for a partial checkpoint loaded on purpose: set the
environment variable ``MMDET_CLIPJOINT_ALLOW_PARTIAL_CHECKPOINT=1`` (works
for ``mim test`` too), or wrap the call in :func:`allow_partial_checkpoint`.
"""
import contextlib
import inspect
import os
import warnings
from typing import Dict, Iterator, List, Mapping, Optional

import torch

__all__ = [
    'MIN_COVERAGE', 'ALLOW_PARTIAL_ENV', 'CheckpointMismatchError',
    'checkpoint_coverage', 'check_checkpoint_coverage',
    'allow_partial_checkpoint', 'register_checkpoint_match_check'
]

#: the least share of the model's weight values a checkpoint must provide
MIN_COVERAGE = 0.5
#: set to 1 to load checkpoints that cover less than MIN_COVERAGE anyway
ALLOW_PARTIAL_ENV = 'MMDET_CLIPJOINT_ALLOW_PARTIAL_CHECKPOINT'

_allow_depth = 0


class CheckpointMismatchError(ValueError):
    """A checkpoint holds the weights of another model."""


@contextlib.contextmanager
def allow_partial_checkpoint() -> Iterator[None]:
    """Within this block, checkpoints that cover little of the model load
    (with mmengine's usual warning) instead of raising.

    Example:
        >>> with allow_partial_checkpoint():
        ...     model = init_detector(config, 'backbone_only.pth')
    """
    global _allow_depth
    _allow_depth += 1
    try:
        yield
    finally:
        _allow_depth -= 1


def _allowed() -> bool:
    return _allow_depth > 0 or os.environ.get(
        ALLOW_PARTIAL_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def _unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The model inside DDP / TTA wrappers (as mmengine loads into it)."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    while is_model_wrapper(module) or isinstance(module, BaseTTAModel):
        module = module.module
    return module


def checkpoint_coverage(module: torch.nn.Module,
                        state_dict: Mapping[str, torch.Tensor]) -> Dict:
    """How much of ``module``'s weights ``state_dict`` provides.

    Args:
        module (nn.Module): The model (wrappers are looked through).
        state_dict (Mapping[str, Tensor]): The checkpoint's weights, keys
            as the model's (after mmengine's ``module.`` stripping).

    Returns:
        dict: ``coverage`` (the share of the model's weight values, by
        element count, found under the same name with the same shape;
        BatchNorm's ``num_batches_tracked`` counters are left out), the
        ``missing`` model keys (absent or of another shape), the
        ``unexpected`` checkpoint keys and ``num_keys`` (the model's,
        without ``num_batches_tracked``).
    """
    from ..models.layers.clipjoint_head_mixin import legacy_branch_key
    own = _unwrap(module).state_dict()
    total = covered = num_keys = 0
    missing: List[str] = []
    for key, value in own.items():
        if key.endswith('num_batches_tracked'):
            continue
        num_keys += 1
        total += value.numel()
        src = state_dict.get(key)
        if src is None and legacy_branch_key(key) is not None:
            # a checkpoint of the flat branch layout: loads (renamed)
            src = state_dict.get(legacy_branch_key(key))
        if src is not None and tuple(getattr(src, 'shape', ())) == tuple(
                value.shape):
            covered += value.numel()
        else:
            missing.append(key)
    legacy = {legacy_branch_key(k) for k in own} - {None}
    unexpected = [k for k in state_dict if k not in own and k not in legacy]
    return dict(coverage=covered / total if total else 1.0,
                missing=missing, unexpected=unexpected, num_keys=num_keys)


def _parts(keys, depth: int = 2, limit: int = 6) -> str:
    """The distinct ``a.b`` prefixes of ``keys``, in order, at most
    ``limit``."""
    out: List[str] = []
    for k in keys:
        p = '.'.join(k.split('.')[:depth])
        if p not in out:
            out.append(p)
    more = f', ... ({len(out)} in all)' if len(out) > limit else ''
    return ', '.join(out[:limit]) + more


def describe_model(module: torch.nn.Module) -> str:
    """``FasterRCNN (ResNet backbone, ClipJointRoIHead)``-like words."""
    module = _unwrap(module)
    parts = []
    for attr, word in (('backbone', 'backbone'), ('roi_head', ''),
                       ('bbox_head', '')):
        sub = getattr(module, attr, None)
        if isinstance(sub, torch.nn.Module):
            parts.append(f'{type(sub).__name__} {word}'.strip())
    return type(module).__name__ + (f' ({", ".join(parts)})' if parts
                                    else '')


def check_checkpoint_coverage(module: torch.nn.Module,
                              state_dict: Mapping[str, torch.Tensor],
                              checkpoint: Optional[str] = None,
                              config: Optional[str] = None,
                              checkpoint_meta: Optional[dict] = None,
                              min_coverage: float = MIN_COVERAGE) -> Dict:
    """Raise when ``state_dict`` provides too little of ``module``.

    Args:
        module (nn.Module): The model.
        state_dict (Mapping[str, Tensor]): The checkpoint's weights.
        checkpoint (str, optional): The checkpoint file, for the message.
        config (str, optional): The model's config file, for the message.
        checkpoint_meta (dict, optional): The checkpoint's ``meta``
            (its ``experiment_name`` names the run that wrote it).
        min_coverage (float): The least share of the model's weight values
            the checkpoint must provide.

    Returns:
        dict: :func:`checkpoint_coverage`'s result, when it is enough.

    Raises:
        CheckpointMismatchError: It is not, unless allowed
            (:data:`ALLOW_PARTIAL_ENV`, :func:`allow_partial_checkpoint`).
    """
    cov = checkpoint_coverage(module, state_dict)
    if cov['coverage'] >= min_coverage or _allowed():
        return cov
    raise CheckpointMismatchError(
        mismatch_message(module, state_dict, cov, checkpoint, config,
                         checkpoint_meta, refused=True))


def mismatch_message(module, state_dict, cov, checkpoint=None, config=None,
                     checkpoint_meta=None, refused=True) -> str:
    """The words of :class:`CheckpointMismatchError` (and of the warning
    given instead when training starts from such a checkpoint)."""
    ckpt = f'checkpoint {checkpoint!r}' if checkpoint else 'the checkpoint'
    model = describe_model(module) + (f' of config {config!r}'
                                      if config else '')
    run = (checkpoint_meta or {}).get('experiment_name')
    origin = f'; it was written by run {run!r}' if run else ''
    pct = 100 * cov['coverage']
    head = (f'Refused to load {ckpt} into {model}' if refused else
            f'{ckpt[0].upper() + ckpt[1:]} loaded into {model}')
    text = (
        f'{head}: it provides only {pct:.1f}% of the model\'s weights '
        f'({len(cov["missing"])} of {cov["num_keys"]} tensors are missing '
        f'or have another shape, in {_parts(cov["missing"])}). Its '
        f'{len(state_dict)} tensors are for another model (they are '
        f'{_parts(state_dict)}{origin}). ')
    if not refused:
        return text + ('Most of the model starts from its own '
                       'initialisation; check `load_from` if that is not '
                       'what you meant.')
    return text + (
        'Give the checkpoint trained with this config, or the config it '
        'was trained with. To load a partial checkpoint on purpose, set '
        f'the environment variable {ALLOW_PARTIAL_ENV}=1 (e.g. '
        f'`{ALLOW_PARTIAL_ENV}=1 python tools/test.py CONFIG CKPT`, also '
        'for `mim test`) or, in Python, use `with mmdet_clipjoint.utils.'
        'allow_partial_checkpoint(): ...`.')


def _frames() -> Iterator:
    frame = inspect.currentframe()
    while frame is not None:
        yield frame
        frame = frame.f_back


def _loading_context() -> Dict:
    """What the calling frames say about this load: the checkpoint file,
    its meta, the model's config file and whether a pretrained ``init_cfg``
    is loading (``init_weights``)."""
    from mmengine.config import Config
    out: Dict = dict(checkpoint=None, meta=None, config=None,
                     init_weights=False)
    for frame in _frames():
        name, local = frame.f_code.co_name, frame.f_locals
        if name == 'init_weights':
            out['init_weights'] = True
        if name == '_load_checkpoint_to_model' and out['meta'] is None:
            ckpt = local.get('checkpoint')
            if isinstance(ckpt, dict) and isinstance(ckpt.get('meta'), dict):
                out['meta'] = ckpt['meta']
        if out['checkpoint'] is None:
            for key in ('filename', 'weights', 'checkpoint'):
                if name in ('load_checkpoint', '_init_model', 'resume',
                            'init_detector') and isinstance(
                                local.get(key), str):
                    out['checkpoint'] = local[key]
                    break
        if out['config'] is None:
            cand = [local.get('config'), local.get('cfg'),
                    getattr(local.get('self'), 'cfg', None)]
            for c in cand:
                if isinstance(c, str) and c.endswith('.py'):
                    out['config'] = c
                elif isinstance(c, Config) and c.filename:
                    out['config'] = c.filename
                if out['config']:
                    break
    return out


def _checked_load_state_dict(original):

    def load_state_dict(module, state_dict, strict=False, logger=None):
        from .safe_checkpoint import _loading_path
        path = _loading_path()
        ctx = _loading_context()
        if path in ('evaluate', 'inference', 'resume') and \
                not ctx['init_weights']:
            check_checkpoint_coverage(module, state_dict, ctx['checkpoint'],
                                      ctx['config'], ctx['meta'])
        elif not _allowed():
            cov = checkpoint_coverage(module, state_dict)
            if cov['coverage'] < MIN_COVERAGE:
                warnings.warn(mismatch_message(
                    module, state_dict, cov, ctx['checkpoint'],
                    ctx['config'], ctx['meta'], refused=False))
        return original(module, state_dict, strict, logger)

    load_state_dict.__wrapped__ = original
    load_state_dict.__doc__ = original.__doc__
    return load_state_dict


def register_checkpoint_match_check() -> None:
    """Wrap ``mmengine.runner.checkpoint.load_state_dict`` (what
    ``load_checkpoint``, ``Runner.load_checkpoint`` and ``DetInferencer``
    load through) with the coverage check; idempotent."""
    from mmengine.runner import checkpoint as ckpt_mod
    if getattr(ckpt_mod.load_state_dict, '__wrapped__', None) is None:
        ckpt_mod.load_state_dict = _checked_load_state_dict(
            ckpt_mod.load_state_dict)
