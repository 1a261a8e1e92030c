# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""LVIS-scale open vocabulary in the semantic world (issue 26 item 3).

Train a ClipJoint RTMDet-tiny on the semantic world's *base* classes, then
ask it for the 1,203 LVIS names (:func:`~mmdet_clipjoint.apis.
set_vocabulary` ``(model, 'lvis')``) on a val split that holds three
groups of objects:

* **base** -- the semantic preset's classes with training boxes;
* **novel** -- the preset's ``novel`` classes (``bicycle``, ``bus``,
  ``sheep``, ``carrot``): drawn in the training images *without* a box
  (``make_semantic_dataset(unlabelled_classes=...)``), but named -- with
  their box -- by the grounding lines and -- without it -- by the captions
  of the same images: DetCLIPv2's setting, where grounding and caption
  data name concepts the detection labels lack;
* **other** -- :data:`OTHER_LVIS_EMOJI`, LVIS names that are neither COCO
  classes nor in :data:`~mmdet_clipjoint.datasets.SOURCE_EMOJI` (the emoji
  pre-training's classes): never drawn in any training image, never named
  by any training text. Their AP is what the text of the 1,203 names alone
  lends (pure zero-shot).

Every training image's captions and grounding lines name all its drawn
objects (base and novel); the *other* classes are absent from training
altogether (a choice: a class that captions mention is "novel", not
"other").

Arms (:data:`LVIS_VOCAB_ARMS`): detection batches only (``det``), + caption
batches, + grounding batches, + both; the concept words frozen at their
CLIP rows (``*-frozen``), the permuted-row control (``*-permuted``:
every CLIP-initialised word starts from another word's row,
``ConceptWordTable(init_derange=0)``, in training and -- the same table --
at test) and every word at random (``both-random-words``: issue 26 item
2's control of the CLIP word starts); ``both-ignore``: the novel
objects' grounding boxes are ignored by the class loss instead of trained
as background (``ClipJointRTMDetHead(honour_ignored=True)``; RTMDet's
assigner reads no ignore boxes). Every arm has as many detection batches
(``det_iters``); the hybrid arms add as many batches of each text kind
(``MultiDataSampler``, 1:1).

The text bank is a :class:`PhraseTextBank` whose concept-word table holds
the words of all 1,203 LVIS names (and of the captions' synonyms), each
word starting from its CLIP row (``init_vocabulary=['lvis', 'coco']``,
``init_part_words=True``). ``set_vocabulary(model, 'lvis')`` therefore
embeds each LVIS name through the model's own table (the normalised mean
of its words: ``car_(automobile)`` = car + automobile): what the caption and
grounding batches taught the words is what the test uses.

Evaluation (:func:`lvis_vocab_metrics`): the val GT's categories are LVIS
names. Each prediction's label (one of 1,203) is mapped to its name; a
prediction whose name is a GT category is scored as that category's
detection (COCO AP@[.5:.95], per class); a prediction of any other LVIS
name belongs to no evaluated class: it cannot raise any AP, and a box that
the model names wrongly is a miss for its true class (counted in
``outside_gt``). The **rename rate** of a group: among its GT objects that
have a detection at IoU >= 0.5, the share whose best-scoring such
detection carries another name.

``tools/benchmark_lvis_vocab.py`` is the command line; the table goes to
``docs/open_vocabulary.md``.
"""
import contextlib
import copy
import io
import json
import os
import os.path as osp
import time
from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config, ConfigDict

from ..utils.config_files import load_config
from ..utils.checkpoint_files import (atomic_write_json,
                                       remove_checkpoints)
from ..utils.file_lock import LockTimeout, exclusive_lock
from .open_vocab import _set_size, schedule_run_cfg
from .stats import format_paired, paired_diff

__all__ = [
    'OTHER_LVIS_EMOJI', 'LVIS_VOCAB_ARMS', 'LVIS_VOCAB_PRESETS',
    'lvis_name', 'prepare_lvis_vocab_data', 'build_lvis_vocab_cfg',
    'predict_lvis', 'lvis_vocab_metrics', 'run_lvis_vocab',
    'lvis_vocab_report', 'rescore_lvis_vocab', 'lvis_rescore_report'
]

#: LVIS v1 names (no COCO name, none in SOURCE_EMOJI) -> Noto code point:
#: the *other* classes of the val split, never drawn in training. Reviewed
#: by eye from the Noto rendering (each emoji shows the object itself);
#: several have a close base class (pickup truck / truck, minivan / bus,
#: race car / car, kiwi / orange), so renaming can be measured.
OTHER_LVIS_EMOJI: Dict[str, str] = {
    'pickup_truck': '1f6fb', 'minivan': '1f690', 'race_car': '1f3ce',
    'canoe': '1f6f6', 'gorilla': '1f98d', 'hippopotamus': '1f99b',
    'rhinoceros': '1f98f', 'parrot': '1f99c', 'flamingo': '1f9a9',
    'cucumber': '1f952', 'eggplant': '1f346', 'potato': '1f954',
    'kiwi_fruit': '1f95d', 'coconut': '1f965', 'cupcake': '1f9c1',
    'teapot': '1fad6', 'balloon': '1f388',
    'bucket': '1faa3', 'crown': '1f451', 'basketball': '1f3c0',
}

#: COCO spellings of the semantic world whose LVIS category has another
#: name (the rest are spelled alike)
_COCO_TO_LVIS = {'car': 'car_(automobile)', 'bus': 'bus_(vehicle)',
                 'orange': 'orange_(fruit)'}

_ALL = ('det', 'grounding', 'caption')
#: arm -> the training data kinds (detection batches always), whether the
#: concept words learn, and whether their CLIP rows are deranged (the
#: permuted-row control)
LVIS_VOCAB_ARMS: Dict[str, dict] = {
    'det': dict(data=('det', ), learnable=True, permuted=False),
    'captions': dict(data=('det', 'caption'), learnable=True,
                     permuted=False),
    'grounding': dict(data=('det', 'grounding'), learnable=True,
                      permuted=False),
    'both': dict(data=_ALL, learnable=True, permuted=False),
    'det-frozen': dict(data=('det', ), learnable=False, permuted=False),
    'both-frozen': dict(data=_ALL, learnable=False, permuted=False),
    'det-permuted': dict(data=('det', ), learnable=True, permuted=True),
    'both-permuted': dict(data=_ALL, learnable=True, permuted=True),
    # issue 26 item 2's control: every concept word starts at random
    'both-random-words': dict(data=_ALL, learnable=True, permuted=False,
                              random_words=True),
    # the novel objects' grounding boxes ignored instead of background in
    # the class loss (ClipJointRTMDetHead(honour_ignored=True))
    'both-ignore': dict(data=_ALL, learnable=True, permuted=False,
                        honour_ignored=True),
}

#: run sizes. ``det_iters``: detection batches of every arm (a hybrid arm
#: adds as many batches of each text kind); ``world``: the accuracy
#: preset whose classes / novel split / generator settings / emoji trunk
#: are used.
LVIS_VOCAB_PRESETS: Dict[str, dict] = {
    # CI-sized: a few iterations from a random trunk
    'smoke': dict(world='semantic-smoke', num_train=12, num_val=12,
                  img_size=96, caption_size=96, det_iters=2, batch=2,
                  seeds=[0], pretrained=False, val_seed=1),
    # 2 CPU cores: the semantic-cpu schedule (1200 detection batches of 8
    # at 128 px from the emoji trunk), 5 seeds
    'cpu': dict(world='semantic-cpu', num_train=1200, num_val=300,
                img_size=128, caption_size=96, det_iters=1200, batch=8,
                seeds=[0, 1, 2, 3, 4], pretrained=True, val_seed=1),
}

#: the deranged table's seed of the permuted arms (one derangement for
#: every training seed, as the zero-shot benchmark's permuted rows)
PERMUTED_SEED = 0

GROUNDING_CONFIG = ('configs/clipjoint_grounding/clipjoint-rtmdet_tiny_'
                    'word-region-grounding_8xb8-30e_semantic.py')


def lvis_name(name: str) -> str:
    """The LVIS v1 category of a semantic-world class (COCO or LVIS
    spelling)."""
    from ..models.utils.vocabularies import vocabulary_names
    lvis = _COCO_TO_LVIS.get(name, name)
    if lvis not in vocabulary_names('lvis'):
        raise ValueError(f'{name!r} has no LVIS v1 category here; add it '
                         'to _COCO_TO_LVIS')
    return lvis


def _world(preset: dict) -> dict:
    """The world preset's classes, novel split and generator settings."""
    from .presets import get_preset, preset_classes
    from .zero_shot import novel_classes
    world = get_preset(preset['world'])
    classes = list(preset_classes(world))
    novel = novel_classes(world)
    return dict(world=world, base=[c for c in classes if c not in novel],
                novel=novel, other=list(OTHER_LVIS_EMOJI))


def prepare_lvis_vocab_data(out_dir: str, preset: dict) -> dict:
    """Generate the preset's data once under ``out_dir`` (a stamp and a
    lock: later calls and other workers reuse it).

    * ``train/``: base + novel classes, novel objects without a box, with
      ODVG grounding lines and captions naming every drawn object;
    * ``val/``: base, novel and other classes (each group a third of the
      objects), and ``annotations/instances_val_lvis.json``, the same GT
      with the categories spelled as LVIS names.

    Returns:
        dict: ``data_root``, the groups ``base`` / ``novel`` / ``other``
        (world spelling), ``lvis`` (world name -> LVIS name), the train
        files (``det`` / ``grounding`` / ``caption``: ann file) and
        ``train_img_prefix``, ``val_ann_file`` / ``val_img_prefix``.
    """
    from ..datasets import (COCO_EMOJI, SEMANTIC_GENERATOR_VERSION,
                            make_semantic_dataset)
    w = _world(preset)
    world = w['world']
    params = dict(base=w['base'], novel=w['novel'], other=w['other'],
                  generator=SEMANTIC_GENERATOR_VERSION,
                  num_train=preset['num_train'], num_val=preset['num_val'],
                  img_size=preset['img_size'], seed=world['data_seed'],
                  val_seed=world['data_seed'] + preset['val_seed'],
                  size_range=list(world['size_range']),
                  objects_per_image=list(world['objects_per_image']))
    stamp = osp.join(out_dir, 'dataset.json')
    os.makedirs(out_dir, exist_ok=True)
    with exclusive_lock(osp.join(out_dir, 'dataset.lock')):
        if osp.isfile(stamp):
            with open(stamp) as f:
                saved = json.load(f)
            if saved['params'] == params:
                return dict(saved['data'], data_root=out_dir)
        common = dict(img_size=(params['img_size'], ) * 2,
                      objects_per_image=tuple(params['objects_per_image']),
                      size_range=tuple(params['size_range']))
        train = make_semantic_dataset(
            osp.join(out_dir, 'train'), w['base'] + w['novel'],
            params['num_train'], 0, seed=params['seed'],
            unlabelled_classes=w['novel'], odvg=True, **common)
        groups = (w['base'], w['novel'], w['other'])
        val = make_semantic_dataset(
            osp.join(out_dir, 'val'), sum(groups, []), 0, params['num_val'],
            seed=params['val_seed'],
            emoji=dict(COCO_EMOJI, **OTHER_LVIS_EMOJI),
            class_weights=[1.0 / len(g) for g in groups for _ in g],
            **common)
        lvis = {c: lvis_name(c) for g in groups for c in g}
        with open(osp.join(val['data_root'], val['val_ann_file'])) as f:
            gt = json.load(f)
        for cat in gt['categories']:
            cat['name'] = lvis[cat['name']]
        val_ann = osp.join('val', 'annotations', 'instances_val_lvis.json')
        with open(osp.join(out_dir, val_ann), 'w') as f:
            json.dump(gt, f)
        data = dict(base=w['base'], novel=w['novel'], other=w['other'],
                    lvis=lvis,
                    det=osp.join('train', train['train_ann_file']),
                    grounding=osp.join('train', train['train_odvg_file']),
                    caption=osp.join('train', train['train_caption_file']),
                    train_img_prefix=osp.join('train', 'train/'),
                    val_ann_file=val_ann,
                    val_img_prefix=osp.join('val', 'val/'))
        atomic_write_json(stamp, dict(params=params, data=data))
    return dict(data, data_root=out_dir)


def concept_words(phrases: Sequence[str]) -> List[str]:
    """The concept-table words of ``phrases`` (the table's tokenizer:
    letters, lower case, no stopwords), each once, in order."""
    from ..models.layers.phrase_encoders import _TOKEN, DEFAULT_STOPWORDS
    words: Dict[str, None] = {}
    for p in phrases:
        for t in _TOKEN.findall(p.lower()):
            if t not in DEFAULT_STOPWORDS:
                words[t] = None
    return list(words)


def build_lvis_vocab_cfg(arm: str,
                         data: dict,
                         work_dir: str,
                         seed: int = 0,
                         det_iters: int = 1200,
                         batch: int = 8,
                         img_size: int = 128,
                         caption_size: int = 96,
                         lr: float = 0.004,
                         pretrained: Optional[str] = None) -> Config:
    """The config of one run of ``arm`` (:data:`LVIS_VOCAB_ARMS`): the
    semantic grounding config (``configs/clipjoint_grounding/``) on this
    benchmark's data, trained on the base classes, with the arm's data
    kinds and concept-word table; no validation while training (the test
    is :func:`predict_lvis`)."""
    from ..datasets.synonyms import class_phrases
    from ..models.utils.vocabularies import vocabulary_names
    if arm not in LVIS_VOCAB_ARMS:
        raise ValueError(f'arm={arm!r}; choose one of '
                         f'{list(LVIS_VOCAB_ARMS)}')
    spec = LVIS_VOCAB_ARMS[arm]
    cfg = load_config(GROUNDING_CONFIG)
    root = data['data_root'].rstrip('/') + '/'
    classes = tuple(data['base'])
    metainfo = dict(classes=classes, palette=[(220, 40, 40)] * len(classes))
    # every word a training text or an LVIS name can use
    train_phrases = [p for c in data['base'] + data['novel']
                     for p in class_phrases(c)]
    words = concept_words(train_phrases + list(vocabulary_names('lvis')))
    encoder = dict(type='ConceptWordTable', seed=0,
                   init_vocabulary=['lvis', 'coco'], init_part_words=True,
                   learnable=spec['learnable'])
    if spec.get('random_words'):
        encoder.update(init_vocabulary=None, init_part_words=False)
    if spec['permuted']:
        encoder['init_derange'] = PERMUTED_SEED
    head = cfg.model.bbox_head
    if spec.get('honour_ignored'):
        head.honour_ignored = True
    head.num_classes = len(classes)
    head.text_bank.update(class_names=classes, extra_words=words)
    head.text_bank.phrase_encoder = ConfigDict(encoder)
    kinds = dict(zip(('det', 'grounding', 'caption'),
                     cfg.train_dataloader.dataset.datasets))
    leaves = []
    for kind in spec['data']:
        ds = copy.deepcopy(kinds[kind])
        ds.update(data_root=root, metainfo=metainfo, ann_file=data[kind],
                  data_prefix=dict(img=data['train_img_prefix']))
        _set_size(ds.pipeline, caption_size if kind == 'caption' else
                  img_size)
        leaves.append(ds)
    n = len(leaves)
    cfg.train_dataloader = ConfigDict(
        batch_size=[batch] * n, num_workers=0, persistent_workers=False,
        sampler=dict(type='MultiDataSampler', dataset_ratio=[1] * n),
        batch_sampler=dict(type='MultiDataAspectRatioBatchSampler',
                           num_datasets=n),
        dataset=dict(type='ConcatDataset', datasets=leaves))
    test = cfg.test_dataloader
    test.update(num_workers=0, persistent_workers=False, batch_size=8)
    test.dataset.update(
        data_root=root, ann_file=data['val_ann_file'],
        data_prefix=dict(img=data['val_img_prefix']),
        metainfo=dict(classes=tuple(data['lvis'][c] for c in
                                    data['base'] + data['novel'] +
                                    data['other'])))
    _set_size(test.dataset.pipeline, img_size)
    cfg.test_evaluator = ConfigDict(type='CocoMetric', metric='bbox',
                                    ann_file=root + data['val_ann_file'])
    cfg = schedule_run_cfg(cfg, det_iters * n, lr, pretrained, seed,
                           work_dir)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    # the softmax over 1,203 names spreads the scores: keep them all
    cfg.model.test_cfg.update(score_thr=0.0, max_per_img=100)
    return cfg


def _train(cfg: Config, quiet: bool, desc: str) -> str:
    """Train ``cfg``; the final checkpoint's path."""
    from mmengine.runner import Runner, find_latest_checkpoint
    from ..engine.hooks.progress_bar_hook import ProgressBarHook
    from ..utils.console import console_to_file
    log = osp.join(cfg.work_dir, 'console.log') if quiet else None
    with console_to_file(log, enabled=quiet) as console:
        runner = Runner.from_cfg(copy.deepcopy(cfg))
        if quiet:
            runner.register_hook(ProgressBarHook(desc, stream=console))
        runner.train()
    return find_latest_checkpoint(cfg.work_dir)


def predict_lvis(cfg: Config, checkpoint: str,
                 vocabulary='lvis',
                 objectness_power: Optional[float] = None) -> List[dict]:
    """Detections of the val split by the trained model asked for the
    names of ``vocabulary`` (``set_vocabulary``): ``image_id``,
    ``bbox`` (x1, y1, x2, y2, original image), ``score``, ``name``.
    ``objectness_power``: the head's exponent of the detector's confidence
    in the ``clip`` scores (None: the config's, default 1)."""
    import torch
    from mmdet.apis import init_detector
    from mmengine.runner import Runner
    from ..apis import set_vocabulary
    model = init_detector(cfg, checkpoint, device='cpu')
    if objectness_power is not None:
        model.bbox_head.objectness_power = objectness_power
    names = set_vocabulary(model, vocabulary, verbose=False)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    dets = []
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                p = sample.pred_instances
                for box, score, label in zip(p.bboxes.tolist(),
                                             p.scores.tolist(),
                                             p.labels.tolist()):
                    dets.append(dict(image_id=int(sample.img_id), bbox=box,
                                     score=float(score),
                                     name=names[int(label)]))
    return dets


def _iou(box: Sequence[float], xywh: Sequence[float]) -> float:
    """IoU of an ``x1 y1 x2 y2`` box and an ``x y w h`` box."""
    x, y, w, h = xywh
    ix = max(0.0, min(box[2], x + w) - max(box[0], x))
    iy = max(0.0, min(box[3], y + h) - max(box[1], y))
    inter = ix * iy
    union = (box[2] - box[0]) * (box[3] - box[1]) + w * h - inter
    return inter / union if union > 0 else 0.0


def _coco_ap(gt: dict, dets: Sequence[dict]) -> Dict[str, float]:
    """COCO AP@[.5:.95] per GT category name (NaN: no GT object)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    cats = {c['id']: c['name'] for c in gt['categories']}
    ap = {n: 0.0 for n in cats.values()}
    counts = Counter(a['category_id'] for a in gt['annotations'])
    for cid, n in cats.items():
        if not counts[cid]:
            ap[n] = float('nan')
    if not dets:
        return ap
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        res = coco.loadRes([dict(d, bbox=[d['bbox'][0], d['bbox'][1],
                                          d['bbox'][2] - d['bbox'][0],
                                          d['bbox'][3] - d['bbox'][1]])
                            for d in dets])
        ev = COCOeval(coco, res, 'bbox')
        ev.evaluate()
        ev.accumulate()
    for k, cid in enumerate(ev.params.catIds):
        p = ev.eval['precision'][:, :, k, 0, -1]
        p = p[p > -1]
        if counts[cid]:
            ap[cats[cid]] = float(np.mean(p)) if p.size else 0.0
    return ap


def lvis_vocab_metrics(gt: dict, dets: Sequence[dict],
                       groups: Dict[str, Sequence[str]]) -> dict:
    """Score detections named from a large vocabulary against a GT whose
    categories are a few of its names.

    Args:
        gt (dict): COCO GT; category names are vocabulary names.
        dets (Sequence[dict]): ``image_id``, ``bbox`` (x1, y1, x2, y2),
            ``score``, ``name`` (any vocabulary name).
        groups (dict): group -> its GT category names (e.g. ``base``,
            ``novel``, ``other``).

    Returns:
        dict: ``summary`` (``AP_<group>``: mean AP of the group's classes
        that have GT objects; ``rename_<group>``: the rename rate), per
        group ``rename`` counts (``found``: objects with a detection at IoU
        >= 0.5; ``renamed``: its best-scoring one has another name;
        ``renamed_to``: the wrong names, most frequent first),
        ``per_class`` AP, and ``outside_gt``: the share of detections
        whose name is no GT category.
    """
    names = {c['name'] for c in gt['categories']}
    ids = {c['name']: c['id'] for c in gt['categories']}
    inside = [dict(image_id=d['image_id'], bbox=list(d['bbox']),
                   score=d['score'], category_id=ids[d['name']])
              for d in dets if d['name'] in names]
    ap = _coco_ap(gt, inside)
    by_image: Dict[int, list] = {}
    for d in dets:
        by_image.setdefault(d['image_id'], []).append(d)
    cat_name = {c['id']: c['name'] for c in gt['categories']}
    summary, rename = {}, {}
    for group, members in groups.items():
        vals = [ap[n] for n in members if n in ap and ap[n] == ap[n]]
        summary[f'AP_{group}'] = float(np.mean(vals)) if vals else \
            float('nan')
        found, wrong = 0, Counter()
        for a in gt['annotations']:
            true = cat_name[a['category_id']]
            if true not in members:
                continue
            hits = [d for d in by_image.get(a['image_id'], [])
                    if _iou(d['bbox'], a['bbox']) >= 0.5]
            if hits:
                found += 1
                best = max(hits, key=lambda d: d['score'])
                if best['name'] != true:
                    wrong[best['name']] += 1
        renamed = sum(wrong.values())
        summary[f'rename_{group}'] = renamed / found if found else \
            float('nan')
        rename[group] = dict(found=found, renamed=renamed,
                             renamed_to=wrong.most_common(10))
    return dict(summary=summary, rename=rename, per_class=ap,
                outside_gt=(len(dets) - len(inside)) / len(dets)
                if dets else float('nan'))


def _record_path(out: str, arm: str, seed: int) -> str:
    return osp.join(out, 'runs', f'{arm}_s{seed}.json')


def _load(path: str, preset_name: str, iters: int) -> Optional[dict]:
    """A finished run's record of the same preset and schedule, or None."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        rec = json.load(f)
    return rec if (rec.get('preset'), rec.get('det_iters')) == \
        (preset_name, iters) else None


def run_lvis_vocab(preset_name: str,
                   out: str,
                   arms: Sequence[str] = tuple(LVIS_VOCAB_ARMS),
                   seeds: Optional[Sequence[int]] = None,
                   pretrain_cache: Optional[str] = None,
                   quiet: bool = True,
                   keep_checkpoints: bool = False,
                   report_only: bool = False,
                   log=print) -> List[dict]:
    """Train + evaluate every (seed, arm) of ``out`` not finished yet.

    Resumable and shareable: one JSON record per run (``out/runs``,
    written atomically; a finished one is read back), and a lock file per
    run, so that a second worker on the same ``out`` takes the next run.
    ``report_only``: read the finished records, train nothing (runs still
    missing are named; none finished is a ``FileNotFoundError``).

    Returns:
        list[dict]: the records of the asked runs that are finished.
    """
    preset = dict(LVIS_VOCAB_PRESETS[preset_name])
    if report_only:
        records, missing = [], []
        for seed in (seeds if seeds is not None else preset['seeds']):
            for arm in arms:
                rec = _load(_record_path(out, arm, seed), preset_name,
                            preset['det_iters'])
                (records.append(rec) if rec is not None else
                 missing.append(f'{arm}_s{seed}'))
        if not records:
            raise FileNotFoundError(
                f'no finished run of the arms {list(arms)} in {out}/runs: '
                'run without --report-only first, or point --out at the '
                'folder that holds the runs')
        if missing:
            log(f'{len(missing)} runs not finished in {out}/runs: '
                f'{", ".join(missing)}')
        return records
    data = prepare_lvis_vocab_data(osp.join(out, 'data'), preset)
    pretrained = None
    if preset['pretrained']:
        from .presets import preset_pretrained
        pretrained = preset_pretrained(preset['world'], 'rtmdet',
                                       pretrain_cache)
    with open(osp.join(data['data_root'], data['val_ann_file'])) as f:
        gt = json.load(f)
    groups = {g: [data['lvis'][c] for c in data[g]]
              for g in ('base', 'novel', 'other')}
    os.makedirs(osp.join(out, 'runs'), exist_ok=True)
    records, busy = [], []
    for seed in (seeds if seeds is not None else preset['seeds']):
        for arm in arms:
            path = _record_path(out, arm, seed)
            rec = _load(path, preset_name, preset['det_iters'])
            if rec is not None:
                records.append(rec)
                continue
            with contextlib.ExitStack() as stack:
                try:
                    stack.enter_context(exclusive_lock(path + '.lock',
                                                       timeout=0))
                except LockTimeout:
                    busy.append(f'{arm}_s{seed}')
                    continue
                t = time.time()
                name = f'lvis-{arm}_s{seed}'
                cfg = build_lvis_vocab_cfg(
                    arm, data, osp.join(out, 'work_dirs', name), seed,
                    preset['det_iters'], preset['batch'],
                    preset['img_size'], preset['caption_size'],
                    pretrained=pretrained)
                ckpt = _train(cfg, quiet, name)
                metrics = lvis_vocab_metrics(gt, predict_lvis(cfg, ckpt),
                                             groups)
                rec = dict(arm=arm, seed=seed, preset=preset_name,
                           det_iters=preset['det_iters'],
                           iters=cfg.train_cfg.max_iters,
                           seconds=time.time() - t,
                           init='emoji pre-training' if pretrained else
                           'random', groups=groups, **metrics)
                atomic_write_json(path, rec)
                if not keep_checkpoints:
                    remove_checkpoints(cfg.work_dir)
            s = rec['summary']
            log(f'[{name}] AP novel {100 * s["AP_novel"]:.1f}, other '
                f'{100 * s["AP_other"]:.1f}, base {100 * s["AP_base"]:.1f}; '
                f'base renamed {100 * s["rename_base"]:.0f} % '
                f'({rec["seconds"]:.0f} s)')
            records.append(rec)
    if busy:
        log(f'{len(busy)} runs were taken by other workers on {out} '
            f'({busy[0]}, ...); re-run the same command once they have '
            'finished for the full table.')
    return records


#: report columns: summary key -> header
_COLUMNS = {'AP_novel': 'AP novel', 'AP_other': 'AP other (zero-shot)',
            'AP_base': 'AP base', 'rename_base': 'base renamed',
            'rename_novel': 'novel renamed'}
#: columns where lower is better (the paired cells count and judge seeds
#: with fewer renames as ahead)
_LOWER_BETTER = ('rename_base', 'rename_novel')
#: paired differences of the report: (a, b) -> what the difference says
_PAIRS = [
    (('captions', 'det'), 'captions added'),
    (('grounding', 'det'), 'grounding added'),
    (('both', 'det'), 'both added'),
    (('both', 'captions'), 'grounding added to captions'),
    (('both', 'grounding'), 'captions added to grounding'),
    (('det', 'det-frozen'), 'learnable vs frozen words (det)'),
    (('both-frozen', 'det-frozen'), 'both added, words frozen'),
    (('both-permuted', 'det-permuted'), 'both added, permuted rows'),
    (('both', 'both-frozen'), 'learnable vs frozen words (both)'),
    (('both', 'both-permuted'), 'CLIP vs permuted rows (both)'),
    (('det', 'det-permuted'), 'CLIP vs permuted rows (det)'),
    (('both', 'both-random-words'), 'CLIP vs random word starts (both)'),
    (('both-ignore', 'both'), 'novel grounding boxes ignored, not '
     'background'),
    (('both-ignore', 'det'), 'both added, novel boxes ignored'),
]


def lvis_vocab_report(records: Sequence[dict]) -> str:
    """Markdown: per arm mean ± std over seeds of AP (novel, other, base)
    and the base rename rate; paired differences by seed (95 %
    t-intervals) of the arms that answer the issue's questions; the gain
    of text batches against the same gain under the permuted control; the
    names base objects are renamed to most often."""
    if not records:
        return 'no LVIS-vocabulary runs yet\n'
    by = {(r['arm'], r['seed']): r for r in records}
    arms = [a for a in LVIS_VOCAB_ARMS if any(k[0] == a for k in by)]

    def vals(arm, key):
        return {s: r['summary'][key] for (a, s), r in by.items()
                if a == arm}

    def ms(v):
        v = [100 * x for x in v.values() if x == x]
        if not v:
            return 'n/a'
        return f'{v[0]:.1f}' if len(v) == 1 else \
            f'{np.mean(v):.1f} ± {np.std(v):.1f}'
    r0 = records[0]
    lines = [
        f'Inference vocabulary: the 1,203 LVIS names. Val groups: base '
        f'({len(r0["groups"]["base"])} classes with training boxes), novel '
        f'({", ".join(r0["groups"]["novel"])}: no training box, named by '
        f'the captions / grounding), other ({len(r0["groups"]["other"])} '
        'LVIS classes never drawn in training). AP x 100, rename rate in '
        '% (lower is better; paired cells count the seeds with fewer '
        'renames).', '',
        '| arm | seeds | ' + ' | '.join(_COLUMNS.values()) + ' |',
        '|---|---|' + '---|' * len(_COLUMNS)]
    for arm in arms:
        lines.append(f'| {arm} | {len(vals(arm, "AP_base"))} | ' + ' | '.join(
            ms(vals(arm, k)) for k in _COLUMNS) + ' |')
    rows = []
    for (a, b), what in _PAIRS:
        if a in arms and b in arms:
            rows.append(f'| {a} − {b} ({what}) | ' + ' | '.join(
                format_paired(paired_diff(vals(a, k), vals(b, k)),
                              lower_is_better=k in _LOWER_BETTER)
                for k in _COLUMNS) + ' |')
    quad = ('both', 'det', 'both-permuted', 'det-permuted')
    if all(a in arms for a in quad):
        cells = []
        for k in _COLUMNS:
            v = [vals(a, k) for a in quad]
            seeds = set.intersection(*(set(x) for x in v))
            gain = {s: v[0][s] - v[1][s] for s in seeds}
            ctrl = {s: v[2][s] - v[3][s] for s in seeds}
            cells.append(format_paired(paired_diff(gain, ctrl),
                                       lower_is_better=k in _LOWER_BETTER))
        rows.append('| (both − det) − (both-permuted − det-permuted): the '
                    'gain that needs CLIP rows | ' + ' | '.join(cells) + ' |')
    if rows:
        lines += ['', 'Paired by seed (x 100; 95 % t-interval, a win only '
                  'when it excludes 0):', '',
                  '| difference | ' + ' | '.join(_COLUMNS.values()) + ' |',
                  '|---|' + '---|' * len(_COLUMNS)] + rows
    lines += ['', 'Base objects renamed most often (all seeds):', '',
              '| arm | renamed to (count) |', '|---|---|']
    for arm in arms:
        wrong = Counter()
        for (a, _), r in by.items():
            if a == arm:
                wrong.update(dict(r['rename']['base']['renamed_to']))
        lines.append(f'| {arm} | ' + ', '.join(
            f'{n} ({c})' for n, c in wrong.most_common(5)) + ' |')
    return '\n'.join(lines) + '\n'


def _rescore_path(out: str, arm: str, seed: int, power: float) -> str:
    return osp.join(out, 'rescored', f'{arm}_s{seed}_g{power:g}.json')


def rescore_lvis_vocab(out: str, arms: Sequence[str], seeds: Sequence[int],
                       powers: Sequence[float],
                       log=print, report_only: bool = False) -> List[dict]:
    """Evaluate the kept checkpoints of finished runs again with other
    exponents g of the detector's confidence in the ``clip`` scores
    (``softmax * (max_c p_det) ** g``; the runs' own evaluation is g = 1).
    A diagnostic of what holds novel AP down: the detector's confidence,
    trained on base classes only, or the names' softmax.

    One JSON record per (arm, seed, g) in ``<out>/rescored`` (resumable,
    one lock per record, shareable by two workers); needs the checkpoints
    (``--keep-checkpoints``): a run without one is skipped with a message.
    ``report_only``: read the finished records, evaluate nothing.

    Returns:
        list[dict]: records with ``arm``, ``seed``, ``objectness_power``,
        ``summary`` (as :func:`lvis_vocab_metrics`); the runs' own records
        stand for g = 1.
    """
    from ..models.layers.score_fusion import check_objectness_power
    powers = [check_objectness_power(g) for g in powers]
    records = []
    for seed in seeds:
        for arm in arms:
            run = _record_path(out, arm, seed)
            if not osp.isfile(run):
                continue
            with open(run) as f:
                base = json.load(f)
            records.append(dict(arm=arm, seed=seed, objectness_power=1.0,
                                summary=base['summary']))
            wd = osp.join(out, 'work_dirs', f'lvis-{arm}_s{seed}')
            ckpt = osp.join(wd, f'iter_{base["iters"]}.pth')
            cfgs = [n for n in sorted(os.listdir(wd)) if n.endswith('.py')] \
                if osp.isdir(wd) else []
            for g in powers:
                if float(g) == 1.0:
                    continue
                path = _rescore_path(out, arm, seed, g)
                if osp.isfile(path):
                    with open(path) as f:
                        records.append(json.load(f))
                    continue
                if report_only:
                    log(f'[{arm}_s{seed} g={g:g}] not rescored yet')
                    continue
                if not (osp.isfile(ckpt) and cfgs):
                    log(f'[{arm}_s{seed}] no kept checkpoint ({ckpt}): '
                        'skipped; train it with --keep-checkpoints to '
                        'rescore it.')
                    break
                os.makedirs(osp.dirname(path), exist_ok=True)
                try:
                    with exclusive_lock(path + '.lock', timeout=0):
                        t = time.time()
                        cfg = Config.fromfile(osp.join(wd, cfgs[0]))
                        with open(osp.join(cfg.test_dataloader.dataset.
                                           data_root, cfg.test_dataloader.
                                           dataset.ann_file)) as f:
                            gt = json.load(f)
                        m = lvis_vocab_metrics(
                            gt, predict_lvis(cfg, ckpt, objectness_power=g),
                            base['groups'])
                        rec = dict(arm=arm, seed=seed,
                                   objectness_power=float(g),
                                   checkpoint=ckpt,
                                   seconds=time.time() - t,
                                   summary=m['summary'], rename=m['rename'])
                        atomic_write_json(path, rec)
                except LockTimeout:
                    log(f'[{arm}_s{seed} g={g:g}] taken by another worker')
                    continue
                s = rec['summary']
                log(f'[{arm}_s{seed} g={g:g}] AP novel '
                    f'{100 * s["AP_novel"]:.1f}, base '
                    f'{100 * s["AP_base"]:.1f} ({rec["seconds"]:.0f} s)')
                records.append(rec)
    return records


def lvis_rescore_report(records: Sequence[dict]) -> str:
    """Markdown: per arm and exponent g, mean ± std over seeds of AP
    (novel, other, base) and the rename rates, and the paired difference
    (by seed) of each g against g = 1, the runs' own scoring."""
    if not records:
        return 'no rescored runs yet\n'
    by = {(r['arm'], r['seed'], r['objectness_power']): r for r in records}
    arms = [a for a in LVIS_VOCAB_ARMS if any(k[0] == a for k in by)]
    powers = sorted({k[2] for k in by}, reverse=True)

    def vals(arm, g, key):
        return {s: r['summary'][key] for (a, s, p), r in by.items()
                if a == arm and p == g}

    def ms(v):
        v = [100 * x for x in v.values() if x == x]
        return 'n/a' if not v else f'{v[0]:.1f}' if len(v) == 1 else \
            f'{np.mean(v):.1f} ± {np.std(v):.1f}'
    lines = ['Exponent g of the detector\'s confidence in the clip scores '
             '(softmax * (max_c p_det) ** g; g = 1: the runs\' own '
             'evaluation). AP x 100, rename rate in % (lower is better).',
             '', '| arm | g | seeds | ' + ' | '.join(_COLUMNS.values()) +
             ' |', '|---|---|---|' + '---|' * len(_COLUMNS)]
    rows = []
    for arm in arms:
        for g in powers:
            v = vals(arm, g, 'AP_base')
            if not v:
                continue
            lines.append(f'| {arm} | {g:g} | {len(v)} | ' + ' | '.join(
                ms(vals(arm, g, k)) for k in _COLUMNS) + ' |')
            if g != 1.0:
                rows.append(f'| {arm}: g={g:g} − g=1 | ' + ' | '.join(
                    format_paired(paired_diff(vals(arm, g, k),
                                              vals(arm, 1.0, k)),
                                  lower_is_better=k in _LOWER_BETTER)
                    for k in _COLUMNS) + ' |')
    if rows:
        lines += ['', 'Paired by seed (x 100; 95 % t-interval):', '',
                  '| difference | ' + ' | '.join(_COLUMNS.values()) + ' |',
                  '|---|' + '---|' * len(_COLUMNS)] + rows
    return '\n'.join(lines) + '\n'
