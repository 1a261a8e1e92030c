# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Side-by-side training runs: stock detectors, their long-tail peers and
ClipJoint, on the same data, schedule and seeds, under label stress.

Used by ``tools/benchmark_accuracy.py`` and ``tools/demo.py``.
"""
import copy
import os.path as osp
from typing import Dict, Optional, Sequence

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from ..models.layers.score_fusion import ScoreModeMixin, set_score_mode
from ..engine.hooks.progress_bar_hook import ProgressBarHook
from ..utils.config_dicts import iter_config_dicts
from ..utils.config_files import load_config
from ..utils.console import console_to_file
from ..utils.small_config import shrink_config

__all__ = [
    'DETECTORS', 'SETTINGS', 'CLIPJOINT_VARIANTS', 'ABLATIONS_CONFIG',
    'build_experiment_cfg', 'run_experiment', 'evaluate'
]

#: detector -> base configs and the methods compared on it.
DETECTORS: Dict[str, dict] = dict(
    frcnn=dict(
        name='Faster R-CNN',
        stock='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
        clipjoint='configs/clipjoint_faster-rcnn/'
        'clipjoint-faster-rcnn_r50_fpn_1x_coco.py',
        methods=('stock', 'normed', 'seesaw', 'clipjoint')),
    rtmdet=dict(
        name='RTMDet-tiny',
        stock='mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        clipjoint='configs/clipjoint_rtmdet/'
        'clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
        methods=('stock', 'clipjoint')),
    # the paper's one-stage detector (this package's mmdet modules)
    yolo11=dict(
        name='YOLO11-n',
        stock='configs/yolo11/yolo11_n_8xb16-600e_coco.py',
        clipjoint='configs/clipjoint_yolo11/'
        'clipjoint-yolo11_n_8xb16-600e_coco.py',
        methods=('stock', 'clipjoint')),
)

#: the named ablations, written once for configs and benchmark alike
ABLATIONS_CONFIG = 'configs/_base_/clipjoint_ablations.py'

#: benchmark method -> its delta in :data:`ABLATIONS_CONFIG`
#: (``clipjoint_ablations``, or ``clipjoint_optim_ablations`` for the text
#: bank's optimizer settings); the names are those of the published tables.
_ABLATION_METHODS = {
    'clipjoint-w0.5': 'branch_w0_5',  # both terms 2x lighter / heavier
    'clipjoint-w2': 'branch_w2',
    'clipjoint-share0.25': 'grad_share0_25',  # the gradient bound
    'clipjoint-share-none': 'no_grad_bound',
    'clipjoint-symmetric': 'symmetric',
    'clipjoint-shared-temp': 'shared_temp',
    'clipjoint-tau0.2': 'tau0_2',
    'clipjoint-bg-zero': 'bg_zero',
    'clipjoint-bg-none': 'bg_none',
    'clipjoint-no-aux': 'no_aux_ce',
    # the semantic benchmark's balanced-loss remedy: the branch's InfoNCE and
    # aux CE logit-adjusted by the running label prior (tau = 1)
    'clipjoint-balanced': 'logit_adjust',
    # its other long-tail remedies: a cosine margin on the own class, class
    # temperatures by frequency, fusion weighted by frequency (fuse mode)
    'clipjoint-margin': 'margin0_1',
    'clipjoint-freq-temp': 'freq_temp',
    'clipjoint-freq-fuse': 'fuse_freq',
    'clipjoint-bank-lr1': 'bank_lr1',
    'clipjoint-frozen-text': 'frozen_text',
    'clipjoint-drift1': 'drift_w1',
    'clipjoint-proj128': 'proj128',
    # the semantic benchmark's random-bank control of the CLIP prior
    'clipjoint-random-text': 'random_text',
    # the CLIP rows centred by the bank itself (ContrastiveTextBank(centre=
    # 'coco')): the rows of clipjoint-centred (up to float rounding), and
    # the stored centre also centres the rows set_vocabulary gives it
    'clipjoint-centred-bank': 'centred',
}


def _clipjoint_variants() -> Dict[str, dict]:
    """:data:`CLIPJOINT_VARIANTS` from :data:`ABLATIONS_CONFIG`."""
    cfg = load_config(ABLATIONS_CONFIG)
    heads, optims = cfg.clipjoint_ablations, cfg.clipjoint_optim_ablations
    variants: Dict[str, dict] = {'clipjoint': {}}
    for method, name in _ABLATION_METHODS.items():
        variants[method] = (dict(paramwise=optims[name].to_dict())
                            if name in optims else heads[name].to_dict())
    # the semantic benchmark's text rows, files of its data
    # (mmdet_clipjoint.benchmark.semantic.write_text_rows): the CLIP rows
    # deranged among the classes (same statistics, no meaning: a control),
    # and centred on the vocabulary's mean (a remedy: opens the narrow cone
    # of CLIP text, keeps the relative semantics)
    variants['clipjoint-permuted'] = dict(text_rows='permuted')
    variants['clipjoint-centred'] = dict(text_rows='centred')
    # ... and the centred rows deranged: the centred remedy's control
    variants['clipjoint-centred-permuted'] = dict(
        text_rows='centred-permuted')
    # the balanced-loss remedy's controls of the prior: the same logit
    # adjustment with a random bank, and with the CLIP rows deranged
    balanced = heads['logit_adjust'].to_dict()
    variants['clipjoint-balanced-random-text'] = dict(
        heads['random_text'].to_dict(), **balanced)
    variants['clipjoint-balanced-permuted'] = dict(balanced,
                                                   text_rows='permuted')
    # both remedies at once (the cone opened, the loss balanced) and its
    # control: the centred rows deranged among the classes, adjusted alike
    variants['clipjoint-centred-balanced'] = dict(balanced,
                                                  text_rows='centred')
    variants['clipjoint-centred-balanced-permuted'] = dict(
        balanced, text_rows='centred-permuted')
    return variants


#: ClipJoint methods of the benchmark: method name -> keys merged into the
#: ClipJoint head config (``text_bank`` and ``branch`` -- the
#: ContrastiveBranch: losses, projection, gradient bound -- are merged key by
#: key; ``None`` removes a loss); the special key ``paramwise`` is merged
#: into ``optim_wrapper.paramwise_cfg.custom_keys`` (the text bank's
#: optimizer settings), ``text_rows`` names a rows file of the benchmark
#: data. ``clipjoint`` is the main config; the others are the named deltas
#: of :data:`ABLATIONS_CONFIG` (the ablation configs' too).
CLIPJOINT_VARIANTS: Dict[str, dict] = _clipjoint_variants()

#: setting -> training-set stress (wrappers from mmdet_clipjoint.datasets).
SETTINGS: Dict[str, dict] = dict(
    clean=dict(),
    imbalanced=dict(imbalance_ratio=50),
    noisy=dict(noise_rate=0.3),
    both=dict(imbalance_ratio=50, noise_rate=0.3),
)


def build_experiment_cfg(detector: str,
                         method: str,
                         data: dict,
                         work_dir: str,
                         setting: str = 'clean',
                         seed: int = 0,
                         clip_pretrained: Optional[str] = None,
                         pretrained: Optional[str] = None,
                         noise_type: str = 'symmetric',
                         flip_map: Optional[Dict[str, str]] = None,
                         class_order: Optional[Sequence[str]] = None,
                         subsample_long_tail: bool = True,
                         text_init: Optional[dict] = None,
                         **shrink) -> Config:
    """Config of one run.

    Args:
        detector: Key of :data:`DETECTORS`.
        method: ``stock``, ``normed`` (mmdet's NormedLinear cosine
            classifier), ``seesaw`` (NormedLinear + SeesawLoss),
            ``clipjoint`` or a key of :data:`CLIPJOINT_VARIANTS`.
        data: Output of ``make_synthetic_dataset`` (or the same keys for
            another COCO-format dataset).
        work_dir: Run directory.
        setting: Key of :data:`SETTINGS`.
        seed: Training seed; also seeds the label stress.
        clip_pretrained: open_clip checkpoint for the text bank; None
            initialises the text embeddings randomly (no CLIP weights
            offline).
        pretrained: Checkpoint whose ``backbone.*`` / ``neck.*`` weights
            initialise the backbone and the neck (mmengine ``Pretrained``
            init with a prefix), e.g. the synthetic pre-training of
            :func:`mmdet_clipjoint.benchmark.pretrain.ensure_pretrained_trunk`;
            None starts from random weights.
        noise_type: ``symmetric`` or ``pairwise`` (class-dependent, through
            ``flip_map``) label noise in the noisy settings.
        flip_map: ``{class: confusable class}`` of pairwise noise.
        class_order: Classes from head to tail of the long-tailed settings
            (default: dataset order, the last classes are the rarest).
        subsample_long_tail: In the long-tailed settings, subsample
            ``data``'s training set with ``LongTailDataset`` (default);
            False when ``data`` is already long-tailed (a generated long
            tail, see ``mmdet_clipjoint.benchmark.presets``).
        text_init: Keys of the text bank's initialisation (e.g.
            ``dict(init_source='vocabulary', vocabulary='coco')``) when no
            ``clip_pretrained`` is given; default: a random bank. A
            variant's own ``text_bank`` keys and ``text_rows`` (a rows
            file named in ``data['text_rows']``) override it.
        **shrink: Passed to :func:`shrink_config` (img_size, max_iters,
            batch_size, lr, ...).
    """
    spec = DETECTORS[detector]
    is_clipjoint = method in CLIPJOINT_VARIANTS
    if method not in spec['methods'] and not is_clipjoint:
        raise ValueError(
            f'method {method!r} is not defined for {detector}; choose from '
            f'{spec["methods"]} or a ClipJoint variant '
            f'{tuple(CLIPJOINT_VARIANTS)}.')
    # ``configs/...``: the configs shipped with the package
    cfg = load_config(spec['clipjoint' if is_clipjoint else 'stock'])
    # the text bank's initialisation is set below (text_init / variant)
    cfg = shrink_config(cfg, data, work_dir, seed=seed,
                        announce_text_init=False, **shrink)
    if pretrained:
        # after shrink_config, which drops the configs' download init
        for part in ('backbone', 'neck'):
            if isinstance(cfg.model.get(part), dict):
                cfg.model[part]['init_cfg'] = dict(
                    type='Pretrained', checkpoint=pretrained,
                    prefix=part + '.')
    num_classes = len(data['classes'])
    if method in ('normed', 'seesaw'):
        bbox_head = cfg.model.roi_head.bbox_head
        bbox_head.cls_predictor_cfg = dict(type='NormedLinear',
                                           tempearture=20)
        if method == 'seesaw':
            bbox_head.loss_cls = dict(type='SeesawLoss', p=0.8, q=2.0,
                                      num_classes=num_classes,
                                      loss_weight=1.0)
    if is_clipjoint:
        delta = dict(CLIPJOINT_VARIANTS[method])
        paramwise = delta.pop('paramwise', None)
        rows = delta.pop('text_rows', None)
        # the run's text init first, so that a variant's keys override it
        for bank in _text_banks(cfg.model):
            if clip_pretrained:
                bank.update(init_source='clip', clip_pretrained=clip_pretrained)
            elif text_init:
                bank.update(copy.deepcopy(text_init))
            else:
                bank.update(init_source='random')
            if rows is not None:
                files = data.get('text_rows') or {}
                if rows not in files:
                    raise ValueError(
                        f'method {method!r} needs the {rows!r} text rows of '
                        'the benchmark data (data["text_rows"]), which only '
                        'the semantic presets write; this data has '
                        f'{sorted(files)}.')
                bank.update(init_source='file',
                            embeddings_file=osp.join(data['data_root'],
                                                     files[rows]))
        for head in _clipjoint_heads(cfg.model):
            _merge(head, delta)
        if paramwise:
            _merge(cfg.optim_wrapper.setdefault('paramwise_cfg', {})
                   .setdefault('custom_keys', {}), paramwise)
    stress = SETTINGS[setting]
    ds = cfg.train_dataloader.dataset
    if 'imbalance_ratio' in stress and subsample_long_tail:
        ds = dict(type='LongTailDataset', seed=seed, dataset=ds,
                  imbalance_ratio=stress['imbalance_ratio'])
        if class_order is not None:
            ds['class_order'] = list(class_order)
    if 'noise_rate' in stress:
        ds = dict(type='NoisyLabelDataset', seed=seed, dataset=ds,
                  noise_rate=stress['noise_rate'], noise_type=noise_type)
        if flip_map:
            ds['flip_map'] = dict(flip_map)
    cfg.train_dataloader.dataset = ds
    for name in ('val_evaluator', 'test_evaluator'):
        cfg[name]['classwise'] = True
    cfg.default_hooks.logger.interval = 20
    cfg.log_level = 'WARNING'
    # mmdet configs name their visualizer 'visualizer', so every later
    # runner of the same process would reuse the first one and write its
    # scalars into the first run's work_dir; the runner's default name
    # (config name + timestamp) keeps them apart
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.pop('name', None)
    return cfg


def _merge(dst: dict, delta: dict) -> None:
    """Merge ``delta`` into ``dst`` key by key (None deletes/disables)."""
    for k, v in delta.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


def _clipjoint_heads(node):
    """Head configs that own a ContrastiveTextBank."""
    return [d for d in iter_config_dicts(node)
            if isinstance(d.get('text_bank'), dict)]


def _text_banks(node):
    return [d for d in iter_config_dicts(node)
            if d.get('type') == 'ContrastiveTextBank']


def _train_stats(runner) -> dict:
    """Realised class counts / noise matrix of the stressed training set."""
    ds = runner.train_dataloader.dataset
    stats = {}
    if hasattr(ds, 'class_counts'):
        stats['class_counts'] = ds.class_counts().tolist()
    while ds is not None:
        if getattr(ds, 'noise_matrix', None) is not None:
            stats['noise_matrix'] = ds.noise_matrix.tolist()
        ds = getattr(ds, 'dataset', None)
    # the (first) text bank at the end of training: its class temperatures
    # and the training counts it recorded (the frequency remedies use them)
    from ..models.layers import ContrastiveTextBank
    banks = [m for m in runner.model.modules()
             if isinstance(m, ContrastiveTextBank)]
    if banks:
        C = banks[0].num_classes
        stats['bank_temperatures'] = [
            round(float(t), 5) for t in banks[0].temperatures()[:C]]
        stats['bank_class_counts'] = banks[0].class_counts.int().tolist()
    return stats


def _has_clipjoint_head(model) -> bool:
    return any(isinstance(m, ScoreModeMixin) for m in model.modules())


class _ValRecorder(Hook):
    """Keeps ``(iteration, metrics)`` of every validation during training."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.history: list = []

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.history.append((runner.iter, dict(metrics or {})))


def evaluate(runner: Runner) -> dict:
    """Test the model a runner has just trained, as it is.

    ``Runner.test()`` runs the ``before_run`` hooks again, and mmengine's
    ``EMAHook.before_run`` rebuilds the EMA model from the current raw
    weights, so after ``train()`` it would test the raw weights instead of
    the EMA ones that the final validation (and the checkpoint) use. The
    test loop alone swaps the trained EMA weights in and out.
    """
    return runner.test_loop.run()


def run_experiment(cfg: Config,
                   score_modes: Sequence[str] = (),
                   curve_every: Optional[int] = None,
                   quiet: bool = False,
                   desc: str = '') -> Dict[str, dict]:
    """Train ``cfg``, then test it (once per extra score mode).

    The validation that ends training (on the same split and with the same
    evaluator as the test) gives the default metrics, so the final
    checkpoint is evaluated once, not twice.

    Args:
        cfg: A config of :func:`build_experiment_cfg`.
        score_modes: Extra ClipJoint score modes to test the final model
            with.
        curve_every: Also validate every this many iterations (a learning
            curve of the run, e.g. ``max_iters // 2``).
        quiet: Send the run's console output (logs, config dump, warnings)
            to ``<work_dir>/console.log`` and show one progress bar per
            training / evaluation instead.
        desc: Label of the progress bars.

    Returns:
        dict: ``{'default': metrics, <mode>: metrics, ..., 'train_stats':
        {'class_counts': [...], 'noise_matrix': [[...]]}, 'curve':
        [[iteration, bbox mAP], ...], 'console_log': path or None}``.
    """
    cfg = copy.deepcopy(cfg)
    max_iters = cfg.train_cfg.max_iters
    cfg.train_cfg.val_interval = curve_every or max_iters
    log = osp.join(cfg.work_dir, 'console.log') if quiet else None
    with console_to_file(log, enabled=quiet) as console:
        runner = Runner.from_cfg(cfg)
        recorder = _ValRecorder()
        runner.register_hook(recorder)
        if quiet:
            runner.register_hook(ProgressBarHook(desc, stream=console))
        runner.train()
        final = [m for it, m in recorder.history if it == max_iters]
        out = dict(default=final[-1] if final else evaluate(runner),
                   train_stats=_train_stats(runner),
                   curve=[[it, m.get('coco/bbox_mAP', 0.0)]
                          for it, m in recorder.history],
                   console_log=log)
        model = runner.model.module if hasattr(runner.model,
                                               'module') else runner.model
        for mode in score_modes:
            if _has_clipjoint_head(model):
                set_score_mode(model, mode)
                out[mode] = evaluate(runner)
    return out
