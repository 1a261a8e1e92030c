# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Zero-shot proof of DetCLIPv2's word-region alignment on generated data.

The synthetic open-vocabulary set (:func:`make_synthetic_caption_dataset`)
has box labels for 6 of 9 colour x shape classes and captions that mention
all 9. Three arms train with the same data, seeds, schedule and pre-trained
trunk, and are evaluated by box AP on the 3 classes no box label names
(zero-shot) and on the 6 others:

* ``boxes-only``: stock RTMDet-tiny on the box-labelled images (its 9-way
  classifier has no positive of the 3 unseen classes);
* ``word-region``: ClipJoint RTMDet-tiny with a :class:`PhraseTextBank`
  (concept words) trained on boxes and, in alternate batches, captions
  (:class:`WordRegionAlignmentLoss`), scored in ``clip`` mode;
* ``no-word-region``: the same with the word-region loss weighted 0 (the
  words learn from box labels alone; same batches).

``tools/benchmark_open_vocab.py`` is the command line; the table goes to
``docs/open_vocabulary.md``.
"""
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config, ConfigDict

from ..utils.config_files import load_config
from .experiments import run_experiment
from .stats import format_paired, paired_diff

__all__ = [
    'OPEN_VOCAB_ARMS', 'OPEN_VOCAB_PRESETS', 'prepare_open_vocab_data',
    'build_open_vocab_cfg', 'schedule_run_cfg', 'run_open_vocab_benchmark',
    'open_vocab_report'
]

#: arm -> config (shipped with the package, see ``utils.config_files``)
OPEN_VOCAB_ARMS: Dict[str, str] = {
    'boxes-only': 'configs/clipjoint_open_vocab/'
    'rtmdet_tiny_boxes-only_8xb8-30e_synthetic-ov.py',
    'word-region': 'configs/clipjoint_open_vocab/'
    'clipjoint-rtmdet_tiny_word-region_8xb8-30e_synthetic-ov.py',
    'no-word-region': 'configs/clipjoint_open_vocab/'
    'clipjoint-rtmdet_tiny_no-word-region_8xb8-30e_synthetic-ov.py',
}

#: sizes of the runs (``det_iters``: detection batches of every arm; the
#: hybrid arms add as many caption batches)
OPEN_VOCAB_PRESETS: Dict[str, dict] = {
    'smoke': dict(num_det_train=16, num_caption_train=16, num_val=8,
                  img_size=128, caption_size=96, det_iters=10, batch=2,
                  seeds=[0], pretrained=False, data_seed=0),
    'cpu': dict(num_det_train=600, num_caption_train=600, num_val=150,
                img_size=128, caption_size=96, det_iters=300, batch=8,
                seeds=[0, 1, 2, 3, 4], pretrained=True, data_seed=0),
}


def prepare_open_vocab_data(out_dir: str, preset: dict) -> dict:
    """Generate the preset's data once (re-used when its stamp matches)."""
    from ..datasets import make_synthetic_caption_dataset
    params = dict(num_det_train=preset['num_det_train'],
                  num_caption_train=preset['num_caption_train'],
                  num_val=preset['num_val'],
                  img_size=[preset['img_size']] * 2,
                  seed=preset['data_seed'])
    stamp = osp.join(out_dir, 'dataset.json')
    if osp.isfile(stamp):
        with open(stamp) as f:
            info = json.load(f)
        if info.get('params') == params:
            return info['data']
    data = make_synthetic_caption_dataset(
        out_dir, num_det_train=params['num_det_train'],
        num_caption_train=params['num_caption_train'],
        num_val=params['num_val'], img_size=tuple(params['img_size']),
        seed=params['seed'])
    data = json.loads(json.dumps(data))  # tuples -> lists
    with open(stamp + '.tmp', 'w') as f:
        json.dump(dict(params=params, data=data), f, indent=1)
    os.replace(stamp + '.tmp', stamp)
    return data


def _set_size(pipeline: Sequence[dict], size: int) -> None:
    for t in pipeline:
        if t['type'] == 'Resize':
            t['scale'] = (size, size)
        elif t['type'] == 'Pad':
            t['size'] = (size, size)


def build_open_vocab_cfg(arm: str,
                         data: dict,
                         work_dir: str,
                         seed: int = 0,
                         det_iters: int = 300,
                         batch: int = 8,
                         img_size: int = 128,
                         caption_size: int = 96,
                         lr: float = 0.004,
                         pretrained: Optional[str] = None) -> Config:
    """The config of one run of ``arm`` (:data:`OPEN_VOCAB_ARMS`).

    Args:
        arm (str): ``boxes-only``, ``word-region`` or ``no-word-region``.
        data (dict): :func:`prepare_open_vocab_data`'s output.
        work_dir (str): The run's folder.
        seed (int): Training seed.
        det_iters (int): Detection batches (hybrid arms: as many caption
            batches on top, drawn 1:1 by ``MultiDataSampler``).
        batch (int): Images per batch (each kind).
        img_size (int): Detection and validation image size.
        caption_size (int): Caption image size (lower, as DetCLIPv2).
        lr (float): AdamW learning rate (linear warm-up over a quarter).
        pretrained (str, optional): Checkpoint of the backbone + neck
            (``backbone.*`` / ``neck.*``); None: random initialisation.
    """
    if arm not in OPEN_VOCAB_ARMS:
        raise ValueError(f'arm={arm!r}; choose one of '
                         f'{list(OPEN_VOCAB_ARMS)}')
    cfg = load_config(OPEN_VOCAB_ARMS[arm])
    root = data['data_root'].rstrip('/') + '/'
    hybrid = arm != 'boxes-only'
    train = cfg.train_dataloader
    leaves = train.dataset.datasets if hybrid else [train.dataset]
    for ds in leaves:
        caption = ds.type == 'CaptionPhraseDataset'
        key = 'caption' if caption else 'det'
        ds.update(data_root=root, ann_file=data[f'{key}_ann_file'],
                  data_prefix=dict(img=data[f'{key}_img_prefix']))
        _set_size(ds.pipeline, caption_size if caption else img_size)
    train.update(batch_size=[batch, batch] if hybrid else batch,
                 num_workers=0, persistent_workers=False)
    for name in ('val_dataloader', 'test_dataloader'):
        dl = cfg[name]
        dl.update(num_workers=0, persistent_workers=False, batch_size=8)
        dl.dataset.update(data_root=root, ann_file=data['val_ann_file'],
                          data_prefix=dict(img=data['val_img_prefix']))
        _set_size(dl.dataset.pipeline, img_size)
    for name in ('val_evaluator', 'test_evaluator'):
        cfg[name] = ConfigDict(type='CocoMetric', metric='bbox',
                               ann_file=root + data['val_ann_file'],
                               classwise=True, format_only=False)
    max_iters = det_iters * (2 if hybrid else 1)
    return schedule_run_cfg(cfg, max_iters, lr, pretrained, seed, work_dir)


def schedule_run_cfg(cfg: Config, max_iters: int, lr: float,
                     pretrained: Optional[str], seed: int,
                     work_dir: str) -> Config:
    """What every open-vocabulary benchmark run shares (also
    :mod:`.lvis_vocab`'s): an iteration schedule (validation at the end,
    linear warm-up over a quarter, one checkpoint), the AdamW ``lr``, the
    backbone + neck from ``pretrained`` (None: random), one-thread
    friendly environment, the seed, ``work_dir`` and quiet logs."""
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_interval=max_iters)
    cfg.val_cfg, cfg.test_cfg = dict(type='ValLoop'), dict(type='TestLoop')
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
             end=max(1, max_iters // 4))
    ]
    cfg.optim_wrapper.optimizer['lr'] = lr
    model = cfg.model
    for part in ('backbone', 'neck'):
        model[part]['init_cfg'] = dict(
            type='Pretrained', checkpoint=pretrained,
            prefix=part + '.') if pretrained else None
    hooks = cfg.default_hooks
    hooks.logger.update(interval=20)
    hooks.checkpoint.update(by_epoch=False, interval=max_iters,
                            max_keep_ckpts=1)
    cfg.log_processor = dict(type='LogProcessor', window_size=20,
                             by_epoch=False)
    cfg.env_cfg = dict(cudnn_benchmark=False,
                       mp_cfg=dict(mp_start_method='fork',
                                   opencv_num_threads=0),
                       dist_cfg=dict(backend='gloo'))
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = work_dir
    cfg.load_from, cfg.resume = None, False
    cfg.log_level = 'WARNING'
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.pop('name', None)
    return cfg


def _summary(metrics: dict, classes: Sequence[str],
             unseen: Sequence[str]) -> dict:
    def ap(c):
        v = metrics.get(f'coco/{c}_precision', float('nan'))
        return 0.0 if v is None or np.isnan(v) else float(v)
    seen = [c for c in classes if c not in unseen]
    return dict(mAP=float(metrics.get('coco/bbox_mAP', 0.0)),
                AP_unseen=float(np.mean([ap(c) for c in unseen])),
                AP_seen=float(np.mean([ap(c) for c in seen])),
                per_class={c: ap(c) for c in classes})


def run_open_vocab_benchmark(preset_name: str,
                             out: str,
                             arms: Sequence[str] = tuple(OPEN_VOCAB_ARMS),
                             seeds: Optional[Sequence[int]] = None,
                             pretrain_cache: Optional[str] = None,
                             verbose: bool = False,
                             log=print) -> List[dict]:
    """Train + evaluate every (arm, seed) not yet in ``out`` (resumable:
    one JSON record per run, written atomically), then write the report.

    Returns:
        list[dict]: every record of ``out`` for the preset.
    """
    preset = dict(OPEN_VOCAB_PRESETS[preset_name])
    seeds = list(seeds if seeds is not None else preset['seeds'])
    os.makedirs(osp.join(out, 'runs'), exist_ok=True)
    data = prepare_open_vocab_data(osp.join(out, 'data'), preset)
    pretrained = None
    if preset['pretrained']:
        from .presets import preset_pretrained
        pretrained = preset_pretrained('cpu-pt', 'rtmdet', pretrain_cache)
    for seed in seeds:
        for arm in arms:
            name = f'{arm}_seed{seed}'
            path = osp.join(out, 'runs', name + '.json')
            if osp.isfile(path):
                continue
            log(f'[{name}] training')
            cfg = build_open_vocab_cfg(
                arm, data, osp.join(out, 'work_dirs', name), seed,
                preset['det_iters'], preset['batch'], preset['img_size'],
                preset['caption_size'], pretrained=pretrained)
            t = time.time()
            res = run_experiment(
                cfg, score_modes=('det', ) if arm != 'boxes-only' else (),
                quiet=not verbose, desc=name)
            rec = dict(arm=arm, seed=seed, preset=preset_name,
                       iters=cfg.train_cfg.max_iters,
                       seconds=time.time() - t,
                       init='synthetic pre-training' if pretrained else
                       'random',
                       summary=_summary(res['default'], data['classes'],
                                        data['unseen_classes']),
                       det_mode=_summary(res['det'], data['classes'],
                                         data['unseen_classes'])
                       if 'det' in res else None,
                       metrics=res['default'])
            with open(path + '.tmp', 'w') as f:
                json.dump(rec, f, indent=1)
            os.replace(path + '.tmp', path)
            s = rec['summary']
            log(f'[{name}] AP unseen {100 * s["AP_unseen"]:.1f}, seen '
                f'{100 * s["AP_seen"]:.1f}, mAP {100 * s["mAP"]:.1f} '
                f'({rec["seconds"]:.0f} s)')
    runs = []
    for f in sorted(os.listdir(osp.join(out, 'runs'))):
        if f.endswith('.json'):
            with open(osp.join(out, 'runs', f)) as fh:
                rec = json.load(fh)
            if rec.get('preset') == preset_name:
                runs.append(rec)
    report = open_vocab_report(runs, data)
    with open(osp.join(out, 'report.md'), 'w') as f:
        f.write(report)
    log(report)
    return runs


def open_vocab_report(runs: Sequence[dict], data: dict) -> str:
    """Markdown: per arm mean +- std over seeds, then the paired
    differences of AP on the unseen classes."""
    by = {}
    for r in runs:
        by.setdefault(r['arm'], {})[r['seed']] = r
    rows = ['| arm | seeds | AP unseen (zero-shot) | AP seen | mAP (9) |',
            '|---|---|---|---|---|']

    def ms(vals):
        vals = [100 * v for v in vals]
        if len(vals) == 1:
            return f'{vals[0]:.1f}'
        return f'{np.mean(vals):.1f} ± {np.std(vals):.1f}'
    for arm in OPEN_VOCAB_ARMS:
        if arm not in by:
            continue
        recs = list(by[arm].values())
        rows.append(f'| {arm} | {len(recs)} | '
                    + ' | '.join(ms([r['summary'][k] for r in recs])
                                 for k in ('AP_unseen', 'AP_seen', 'mAP'))
                    + ' |')
    det_rows = [(arm, list(by[arm].values())) for arm in by
                if arm != 'boxes-only']
    if det_rows:
        rows += ['', 'The hybrid arms scored by the detector\'s own 9-way '
                 'classifier (`det` mode, same checkpoints):', '',
                 '| arm | AP unseen | AP seen |', '|---|---|---|']
        for arm, recs in det_rows:
            rows.append(f'| {arm} (det) | '
                        + ' | '.join(ms([r['det_mode'][k] for r in recs])
                                     for k in ('AP_unseen', 'AP_seen'))
                        + ' |')
    pairs = [('word-region', 'no-word-region'),
             ('word-region', 'boxes-only'),
             ('no-word-region', 'boxes-only')]
    lines = []
    for a, b in pairs:
        if a in by and b in by:
            for k, label in (('AP_unseen', 'AP unseen'),
                             ('AP_seen', 'AP seen')):
                d = paired_diff({s: r['summary'][k]
                                 for s, r in by[a].items()},
                                {s: r['summary'][k]
                                 for s, r in by[b].items()})
                lines.append(f'| {a} − {b} | {label} | '
                             f'{format_paired(d)} |')
    if lines:
        rows += ['', 'Paired by seed (95 % t-interval; a win only when it '
                 'excludes 0):', '', '| difference | metric | value |',
                 '|---|---|---|'] + lines
    rows += ['', f'Unseen (no training box): '
             f'{", ".join(data["unseen_classes"])}.']
    return '\n'.join(rows) + '\n'
