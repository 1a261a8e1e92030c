# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Shrink any mmdet config to a few CPU iterations on a small dataset.

Used by the tests, ``make demo`` and the benchmarks: it takes a real config
(stock mmdet or ours), points every dataloader and evaluator at the given
data, scales every image size in the pipelines down, swaps the schedule for a
short iteration-based one and removes what cannot run offline (pretrained
backbone downloads) or on a CPU (NCCL).  The result can be used directly with
``Runner.from_cfg`` or dumped to a file for ``mim train mmdet <file>``.
"""
import copy
import os.path as osp
import re
from typing import Any, Dict, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict

__all__ = [
    'shrink_config', 'small_roi_budgets', 'drop_batch_resize',
    'shrunk_config_name', 'renamed_config'
]

_SIZE_KEYS = ('scale', 'img_scale', 'crop_size', 'size')
_EPOCH_ONLY_HOOKS = ('PipelineSwitchHook', 'YOLOXModeSwitchHook')


def _is_size(v: Any) -> bool:
    return isinstance(v, (tuple, list)) and len(v) == 2 and all(
        isinstance(x, (int, float)) and x > 1 for x in v)


def _is_border(v: Any) -> bool:
    return isinstance(v, (tuple, list)) and len(v) == 2 and all(
        isinstance(x, (int, float)) for x in v)


def _reference_size(cfg: Config) -> float:
    """Longest image side that the test pipeline resizes to."""
    best = 0.0
    for t in cfg.get('test_pipeline', None) or []:
        for k in _SIZE_KEYS:
            if _is_size(t.get(k)):
                best = max(best, *t[k])
    return best or 640.0


def _scale_pipeline(pipeline: Sequence[dict], ratio: float,
                    stride: int = 32) -> list:
    out = []
    for t in pipeline:
        t = copy.deepcopy(t)
        for k in _SIZE_KEYS:
            if _is_size(t.get(k)):
                t[k] = tuple(
                    max(stride, int(round(x * ratio / stride)) * stride)
                    for x in t[k])
        if _is_border(t.get('border')):  # YOLOX RandomAffine: (-w/2, -h/2)
            t['border'] = tuple(int(round(x * ratio)) for x in t['border'])
        if 'transforms' in t:  # e.g. RandomChoice / TTA wrappers
            t['transforms'] = [
                _scale_pipeline(p, ratio, stride) if isinstance(p, list) else
                _scale_pipeline([p], ratio, stride)[0]
                for p in t['transforms']
            ]
        out.append(t)
    return out


def _leaf_datasets(ds: dict):
    """Yield the innermost dataset dicts under dataset wrappers."""
    if 'dataset' in ds:
        yield from _leaf_datasets(ds['dataset'])
    elif 'datasets' in ds:
        for d in ds['datasets']:
            yield from _leaf_datasets(d)
    else:
        yield ds


def _unwrap(ds: dict) -> dict:
    """Replace RepeatDataset / ConcatDataset wrappers by their first leaf."""
    return next(_leaf_datasets(ds))


def _set_classes(node: Any, classes: Tuple[str, ...],
                 announce: bool = True) -> None:
    """Set every ``num_classes`` and text-bank class list under ``node``
    (``announce``: say so when a vocabulary init turns random)."""
    if isinstance(node, dict):
        if 'num_classes' in node:
            node['num_classes'] = len(classes)
        if node.get('type') in ('ContrastiveTextBank', 'PhraseTextBank'):
            node['class_names'] = classes
            node.pop('prompt_aliases', None)
            if node.get('init_source') == 'vocabulary':
                # a shipped vocabulary (COCO, LVIS, ...) does not name the
                # generated classes
                if announce:
                    print('shrink_config: the text bank initialises at random '
                          f"(its {node.get('vocabulary')!r} vocabulary does "
                          'not name the generated classes)')
                node['init_source'] = 'random'
                if node.pop('centre', None) is not None and announce:
                    # random rows have no CLIP cone to centre
                    print('shrink_config: text_bank.centre dropped (a random '
                          'bank has no CLIP rows to centre)')
        for v in node.values():
            _set_classes(v, classes, announce)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _set_classes(v, classes, announce)


def small_roi_budgets(model: dict) -> dict:
    """The RoI budgets of the project's CPU runs for a two-stage detector's
    model config, in place (RPN: 200 pre-NMS / 100 proposals, 64 sampled
    RoIs per image); other detectors are left as they are."""
    train_cfg = model.get('train_cfg') or {}
    if 'rpn_proposal' in train_cfg:
        train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
        train_cfg.rcnn.sampler.update(num=64)
    test_cfg = model.get('test_cfg') or {}
    if 'rpn' in test_cfg:
        test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    return model


def drop_batch_resize(model: dict) -> dict:
    """Remove ``BatchSyncRandomResize`` from a model config's data
    pre-processor, in place.

    The stock YOLOX pre-processor resizes batches to 640-class sizes every
    10 iterations; at one fixed size it is a no-op that only fails outside a
    runner (it reads the iteration from the MessageHub).
    """
    pre = model.get('data_preprocessor', {})
    if pre.get('batch_augments'):
        pre['batch_augments'] = [
            a for a in pre['batch_augments']
            if a.get('type') != 'BatchSyncRandomResize'
        ] or None
    return model


def shrink_config(cfg: Config,
                  data: Dict,
                  work_dir: str,
                  img_size: int = 192,
                  max_iters: int = 4,
                  batch_size: int = 2,
                  val_interval: Optional[int] = None,
                  checkpoint_interval: Optional[int] = None,
                  lr: Optional[float] = None,
                  light_backbone: bool = True,
                  dataset_type: str = 'CocoDataset',
                  seed: Optional[int] = 0,
                  announce_text_init: bool = True) -> Config:
    """Return a copy of ``cfg`` that trains ``max_iters`` iterations on CPU.

    Args:
        cfg: A loaded detector config (any mmdet 3.x detector).
        data: The dict returned by
            :func:`mmdet_clipjoint.datasets.make_synthetic_dataset`
            (``data_root``, ``classes``, ``{train,val}_ann_file``,
            ``{train,val}_img_prefix``).
        work_dir: Where logs and checkpoints go.
        img_size: Longest image side after resizing (pipelines are scaled
            so that the test pipeline's longest side becomes this).
        max_iters: Training iterations.
        batch_size: Training batch size.
        val_interval: Validate every this many iterations (default: at the
            end only).
        checkpoint_interval: Save a checkpoint every this many iterations
            (default: at the end only).
        lr: Optional learning rate override.
        light_backbone: Replace a ResNet backbone by ResNet-18 (CPU speed).
        dataset_type: ``CocoDataset`` (COCO json) or ``VOCDataset``.
        seed: Global random seed.
        announce_text_init: Print when a text bank's ``vocabulary``
            initialisation turns random (the generated classes are not in
            the vocabulary); False for a caller that sets the bank's
            initialisation itself afterwards (the benchmarks).

    Returns:
        Config: the shrunk config (``cfg`` itself is not modified), with
        ``mmdet_clipjoint`` in its ``custom_imports`` so that the config a
        run saves can be re-used as it is (``tools/test.py``, ``mim test``).
    """
    cfg = copy.deepcopy(cfg)
    # the config a run saves must load its checkpoints again (torch >= 2.6
    # needs this package's allow-list) -- also a stock detector's
    imports = list((cfg.get('custom_imports') or {}).get('imports', []))
    if 'mmdet_clipjoint' not in imports:
        imports.append('mmdet_clipjoint')
    cfg.custom_imports = dict(imports=imports, allow_failed_imports=False)
    classes = tuple(data['classes'])
    ratio = img_size / _reference_size(cfg)
    metainfo = dict(classes=classes)
    data_root = data['data_root']
    if not data_root.endswith('/'):
        data_root += '/'
    if dataset_type != 'VOCDataset':
        # clear errors naming the file, before mmdet's raw ones
        from ..datasets.checks import check_coco_annotation_file
        for split in ('train', 'val'):
            check_coco_annotation_file(
                osp.join(data_root, data[f'{split}_ann_file']), split,
                need_boxes=split == 'train')

    def point_dataset(ds: dict, split: str) -> dict:
        if ds.get('type') == 'MultiImageMixDataset':
            # YOLOX: the augmentation pipeline sits on the wrapper
            ds['pipeline'] = _scale_pipeline(ds['pipeline'], ratio)
            ds['dataset'] = point_dataset(ds['dataset'], split)
            return ds
        ds = _unwrap(ds)
        ds.update(metainfo=metainfo, data_root=data_root,
                  pipeline=_scale_pipeline(ds.get('pipeline', []), ratio))
        if dataset_type == 'VOCDataset':
            ds.update(type='VOCDataset',
                      ann_file=f'VOCdevkit/VOC2007/ImageSets/Main/'
                      f'{"trainval" if split == "train" else "test"}.txt',
                      data_prefix=dict(sub_data_root='VOCdevkit/VOC2007/'))
        else:
            ds.update(type='CocoDataset', ann_file=data[f'{split}_ann_file'],
                      data_prefix=dict(img=data[f'{split}_img_prefix']))
        if split == 'train':
            ds['filter_cfg'] = dict(filter_empty_gt=False, min_size=0)
        return ds

    # ---- data -----------------------------------------------------------
    for name, split in (('train_dataloader', 'train'),
                        ('val_dataloader', 'val'), ('test_dataloader',
                                                    'val')):
        dl = cfg.get(name)
        if dl is None:
            continue
        dl = ConfigDict(dl)
        dl['dataset'] = point_dataset(dl['dataset'], split)
        dl.update(num_workers=0, persistent_workers=False)
        dl['batch_size'] = batch_size if split == 'train' else 2
        if split == 'train':
            dl['sampler'] = dict(type='DefaultSampler', shuffle=True)
        cfg[name] = dl
    for key in ('train_pipeline', 'test_pipeline', 'train_pipeline_stage2'):
        if key in cfg:
            cfg[key] = _scale_pipeline(cfg[key], ratio)

    val_ann = osp.join(data_root, data['val_ann_file'])
    for name in ('val_evaluator', 'test_evaluator'):
        if name not in cfg:
            continue
        if dataset_type == 'VOCDataset':
            cfg[name] = dict(type='VOCMetric', metric='mAP',
                             eval_mode='11points')
        else:
            cfg[name] = dict(type='CocoMetric', ann_file=val_ann,
                             metric='bbox', format_only=False)

    # ---- model ----------------------------------------------------------
    model = cfg.model
    _set_classes(model, classes, announce_text_init)
    backbone = model.get('backbone', {})
    backbone['init_cfg'] = None  # no pretrained download offline
    if light_backbone and backbone.get('type') == 'ResNet' and \
            backbone.get('depth', 18) > 18:
        backbone.update(depth=18, norm_eval=False)
        if model.get('neck', {}).get('type') == 'FPN':
            model.neck['in_channels'] = [64, 128, 256, 512]
    small_roi_budgets(model)
    test_cfg = model.get('test_cfg') or {}
    if 'nms_pre' in test_cfg:
        test_cfg['nms_pre'] = min(test_cfg['nms_pre'], 1000)
    drop_batch_resize(model)

    # ---- schedule and runtime -------------------------------------------
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_interval=val_interval or max_iters)
    cfg.val_cfg = dict(type='ValLoop')
    cfg.test_cfg = dict(type='TestLoop')
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
             end=max(1, max_iters // 4))
    ]
    if lr is not None:
        cfg.optim_wrapper.optimizer['lr'] = lr
    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper':
        cfg.optim_wrapper['type'] = 'OptimWrapper'  # no AMP on CPU
        cfg.optim_wrapper.pop('loss_scale', None)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
    hooks = cfg.default_hooks
    hooks.logger.update(interval=1)
    hooks.checkpoint.update(by_epoch=False,
                            interval=checkpoint_interval or max_iters,
                            max_keep_ckpts=-1)
    cfg.log_processor = dict(type='LogProcessor', window_size=1,
                             by_epoch=False)
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h.get('type') not in _EPOCH_ONLY_HOOKS
    ]
    cfg.env_cfg = dict(
        cudnn_benchmark=False,
        mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
        dist_cfg=dict(backend='gloo'))
    if seed is not None:
        cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = work_dir
    cfg.load_from = None
    cfg.resume = False
    return cfg


def shrunk_config_name(source: str, cfg: Config, dataset: str) -> str:
    """A file name in mmdet's grammar (``{algorithm}_{components}_{schedule}
    _{dataset}.py``) for a config that :func:`shrink_config` made from
    ``source``: the schedule and dataset fields say what it now is, and a
    ResNet depth field the backbone it now has.

    Example:
        ``clipjoint-rtmdet_tiny_8xb32-300e_coco.py`` shrunk to 300
        iterations at batch 8 on synthetic data ->
        ``clipjoint-rtmdet_tiny_1xb8-300it_synthetic-both-160px.py``
        (``dataset='synthetic-both-160px'``).

    Args:
        source (str): The source config's path or name (``mmdet::...`` too).
        cfg (Config): The shrunk config.
        dataset (str): The dataset field (words joined by ``-``).

    Returns:
        str: The file name.
    """
    stem = osp.splitext(osp.basename(source.split('::')[-1]))[0]
    fields = stem.split('_')[:-1]  # the last field is the dataset
    # schedule fields: 8xb32-300e, 1x, 2x, 3x, 8xb16-600e, ...
    fields = [f for f in fields
              if not re.fullmatch(r'\d+x(b\d+(-\d+e)?)?', f)]
    backbone = cfg.model.get('backbone') or {}
    if backbone.get('type') == 'ResNet' and backbone.get('depth'):
        fields = [f'r{backbone["depth"]}' if re.fullmatch(r'r\d+', f) else f
                  for f in fields]
    loader = cfg.get('train_dataloader') or {}
    loop = cfg.get('train_cfg') or {}
    schedule = f'1xb{loader.get("batch_size", 1)}-{loop.get("max_iters")}it'
    return '_'.join(fields + [schedule, dataset]) + '.py'


def renamed_config(cfg: Config, filename: str) -> Config:
    """A copy of ``cfg`` whose ``filename`` is ``filename`` (a ``Runner``
    saves its config under that name in the work_dir). No file is read or
    written."""
    return Config(cfg.to_dict(), cfg_text=cfg.pretty_text,
                  filename=filename)
