# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Plot what training did to the ClipJoint text bank(s) of a checkpoint.

Writes to ``--out-dir`` (PNG figures + ``summary.json``):

* ``similarity.png``: class x class cosine similarity of the learned text
  embeddings next to that of their initialisation;
* ``drift.png``: per-class drift ``1 - cos(init_c, learned_c)``;
* ``temperatures.png``: the learned per-class temperatures (with the
  configured initial value and clamp range);
* ``region_embeddings_pca.png``: a 2-D PCA of the region embeddings of the
  top-scoring RoIs (two-stage heads) or locations (one-stage heads) on a few
  validation images, coloured by ground-truth class (RoIs with IoU >= 0.5) or
  by predicted class, with the class text embeddings projected alongside.

The initialisation is re-created from, in this order: ``--init-embeddings``;
the bank's ``embeddings_file`` (``init_source='file'``); for
``init_source='clip'``, the text-embedding cache, a local CLIP checkpoint, or
(with ``--encode-clip``) open_clip's pretrained tag. When none is available
the figures say so in their titles. With several text banks the file names
are prefixed by the bank's module path.

Example::

    python tools/analyze_text_bank.py CONFIG work_dirs/voc/iter_12000.pth \\
        --out-dir work_dirs/voc/text_bank --num-images 16
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ['initial_embeddings', 'collect_region_embeddings', 'pca_2d',
           'main']


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__.split('\n', 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='the detector config')
    p.add_argument('checkpoint', help='a trained checkpoint')
    p.add_argument('--out-dir', help='where to write the figures (default: '
                   '<checkpoint dir>/text_bank_analysis)')
    p.add_argument('--init-embeddings',
                   help='embeddings file (.pt/.npy) holding the '
                   'initialisation (overrides the config)')
    p.add_argument('--encode-clip', action='store_true',
                   help='for init_source=clip, allow open_clip to load the '
                   'pretrained tag\'s weights (its cache or the network) to '
                   're-create the initialisation')
    p.add_argument('--num-images', type=int, default=8,
                   help='validation images for the region-embedding plot '
                   '(0: skip that plot)')
    p.add_argument('--per-image', type=int, default=20,
                   help='top-scoring RoIs / locations taken per image')
    p.add_argument('--split', choices=['val', 'test'], default='val',
                   help='which dataloader\'s dataset to sample images from')
    p.add_argument('--device', default='cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings (key=value)')
    return p.parse_args(argv)


# ---------------------------------------------------------------------------
# text bank: initialisation vs learned
# ---------------------------------------------------------------------------
def initial_embeddings(bank, init_file: Optional[str] = None,
                       encode_clip: bool = False
                       ) -> Tuple[Optional[torch.Tensor], str]:
    """Re-create a bank's initial class embeddings.

    Returns:
        tuple: the normalised (C, D) embeddings, or None when unavailable,
        and a description of the source (or of why it is unavailable).
    """
    from mmdet_clipjoint.models.utils.clip_text import (
        cache_key, encode_class_names, load_embeddings_file)

    def load(path):
        emb = load_embeddings_file(path, bank.class_names,
                                   bank.embed_dim)['embeddings']
        return F.normalize(emb, dim=-1)

    if init_file:
        return load(init_file), f'file {osp.basename(init_file)}'
    if bank.init_source == 'random':
        return None, 'random initialisation (init_source=random)'
    if bank.init_source == 'file':
        if not osp.isfile(bank.embeddings_file):
            return None, (f'embeddings file {bank.embeddings_file} not found'
                          ' (pass --init-embeddings)')
        return load(bank.embeddings_file), \
            f'file {osp.basename(bank.embeddings_file)}'
    name, pre = bank.clip_model, bank.clip_pretrained
    if pre is None:
        return None, 'random CLIP weights (clip_pretrained=None)'
    src = f'CLIP {name} ({osp.basename(pre)})'
    if bank.cache_dir:
        cached = osp.join(bank.cache_dir, cache_key(
            bank.prompt_names, name, pre, bank.templates) + '.pt')
        if osp.isfile(cached):
            return F.normalize(load_embeddings_file(
                cached, bank.prompt_names)['embeddings'], dim=-1), src
    if not (osp.isfile(pre) or encode_clip):
        return None, (f'CLIP {name} ({pre}) weights not loaded (pass '
                      '--encode-clip or --init-embeddings)')
    try:
        emb = encode_class_names(bank.prompt_names, name, pre,
                                 bank.templates)
    except Exception as e:  # offline, missing file, ...
        return None, f'CLIP encoding failed ({type(e).__name__})'
    return F.normalize(emb, dim=-1), src


def _cfg_at(node, path: str):
    """The config dict at a module path such as ``roi_head.bbox_head.x``."""
    for key in path.split('.'):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, (list, tuple)) and key.isdigit() and \
                int(key) < len(node):
            node = node[int(key)]
        else:
            return {}
    return node if isinstance(node, dict) else {}


def _class_ticks(ax, names, axis='both'):
    if len(names) > 40:
        return
    if axis in ('both', 'x'):
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=90, fontsize=7)
    if axis in ('both', 'y'):
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)


def _unavailable(ax, reason):
    ax.text(0.5, 0.5, 'initialisation unavailable:\n' + reason,
            ha='center', va='center', wrap=True, fontsize=9,
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_similarity(path, names, learned, init, init_desc, title_prefix):
    import matplotlib.pyplot as plt
    sim_l = (learned @ learned.t()).numpy()
    sims = [sim_l] + ([(init @ init.t()).numpy()] if init is not None
                      else [])
    off = ~np.eye(len(names), dtype=bool)
    vmin = min(float(s[off].min()) for s in sims) if len(names) > 1 else -1
    title = f'{title_prefix}class x class cosine similarity'
    if init is None:
        title += f' (initialisation unavailable: {init_desc})'
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), layout='constrained')
    if init is not None:
        im = axes[0].imshow(sims[1], vmin=vmin, vmax=1, cmap='viridis')
        axes[0].set_title(f'initialisation: {init_desc}', fontsize=9)
        _class_ticks(axes[0], names)
    else:
        _unavailable(axes[0], init_desc)
    im = axes[1].imshow(sim_l, vmin=vmin, vmax=1, cmap='viridis')
    axes[1].set_title('learned (checkpoint)', fontsize=9)
    _class_ticks(axes[1], names)
    fig.colorbar(im, ax=list(axes), shrink=0.7)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


def plot_drift(path, names, drift, init_desc, title_prefix):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names) + 2), 4))
    if drift is None:
        title = (f'{title_prefix}per-class drift 1 - cos(init, learned): '
                 f'initialisation unavailable ({init_desc})')
        _unavailable(ax, init_desc)
    else:
        title = (f'{title_prefix}per-class drift 1 - cos(init, learned); '
                 f'init: {init_desc}')
        ax.bar(range(len(names)), drift, color='tab:blue')
        ax.set_ylabel('1 - cos(init, learned)')
        _class_ticks(ax, names, 'x')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


def plot_temperatures(path, labels, temps, init_temp, t_range,
                      title_prefix):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(labels) + 2), 4))
    ax.bar(range(len(labels)), temps, color='tab:orange')
    if init_temp is not None:
        ax.axhline(init_temp, color='k', ls='--', lw=1,
                   label=f'initial tau = {init_temp:g}')
    for t in t_range:
        ax.axhline(t, color='grey', ls=':', lw=1)
    ax.set_yscale('log')
    ax.set_ylabel('temperature tau (log scale)')
    _class_ticks(ax, labels, 'x')
    if init_temp is not None:
        ax.legend(fontsize=8)
    title = (f'{title_prefix}learned per-class temperatures '
             f'(clamp range {t_range[0]:g}-{t_range[1]:g}, dotted)')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


# ---------------------------------------------------------------------------
# region embeddings
# ---------------------------------------------------------------------------
def _gt_of(dataset, idx) -> Tuple[torch.Tensor, torch.Tensor]:
    """Ground-truth boxes (original image coordinates) and labels."""
    info = dataset.get_data_info(idx)
    inst = [i for i in info.get('instances', [])
            if not i.get('ignore_flag', 0)]
    boxes = torch.tensor([i['bbox'] for i in inst],
                         dtype=torch.float32).reshape(-1, 4)
    labels = torch.tensor([i['bbox_label'] for i in inst],
                          dtype=torch.long)
    return boxes, labels


@torch.no_grad()
def collect_region_embeddings(model, dataset, num_images: int,
                              per_image: int) -> Dict:
    """Region embeddings of the top-scoring RoIs / locations.

    Two-stage (:class:`ClipJointRoIHead`): RPN proposals go through the RoI
    head; each RoI's embedding is ``bbox_head.embed`` of its classifier
    feature, its score the final (``score_mode``) foreground probability,
    its class the ground truth of the best-overlapping box (IoU >= 0.5,
    else background = -1). One-stage (ClipJoint dense heads): every
    location's ``embed`` output, scored by the detector's class
    probabilities and coloured by the predicted class.

    Returns:
        dict: ``embeds`` (M, D), ``labels`` (M,), ``colour_by``
        (``'ground truth'`` or ``'predicted class'``), ``num_images``.
    """
    from mmengine.dataset import pseudo_collate

    from mmdet.structures.bbox import bbox2roi, bbox_overlaps, scale_boxes
    head = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    two_stage = head is not None and hasattr(head, 'embed')
    if not two_stage:
        head = getattr(model, 'bbox_head', None)
        if head is None or not hasattr(head, 'embed'):
            raise ValueError('The model has no ClipJoint head with an '
                             '`embed` method.')
    n = min(num_images, len(dataset))
    idxs = np.linspace(0, len(dataset) - 1, n).round().astype(int) \
        if n else []
    embeds, labels = [], []
    for idx in idxs:
        data = model.data_preprocessor(pseudo_collate([dataset[int(idx)]]),
                                       False)
        x = model.extract_feat(data['inputs'])
        sample = data['data_samples'][0]
        if two_stage:
            C = head.num_classes
            props = model.rpn_head.predict(x, data['data_samples'],
                                           rescale=False)
            rois = bbox2roi([p.bboxes for p in props])
            if len(rois) == 0:
                continue
            res = model.roi_head._bbox_forward(x, rois)
            emb = res['region_embed']
            if emb is None:  # score_mode='det' skips the branch
                _, _, x_branch = head._branch_features(res['bbox_feats'])
                emb = head.embed(x_branch)
            score = res['cls_score'].softmax(-1)[:, :C].max(-1).values
            top = score.topk(min(per_image, len(score))).indices
            boxes = scale_boxes(rois[top, 1:],
                                [1 / s for s in sample.scale_factor])
            gt_boxes, gt_labels = _gt_of(dataset, int(idx))
            lab = torch.full((len(top), ), -1, dtype=torch.long)
            if len(gt_boxes):
                iou = bbox_overlaps(boxes, gt_boxes)
                best, arg = iou.max(1)
                lab = torch.where(best >= 0.5, gt_labels[arg], lab)
            embeds.append(emb[top])
            labels.append(lab)
        else:
            old = head.score_mode
            head.score_mode = 'clip'  # make forward return the features
            try:
                outs = head(x)
            finally:
                head.score_mode = old
            emb = head.flatten_levels([head.embed(f) for f in outs[-1]])[0]
            prob = head.flatten_levels(outs[0])[0].sigmoid()
            if len(outs) == 4:  # YOLOX objectness
                prob = prob * head.flatten_levels(outs[2])[0].sigmoid()
            score, pred = prob.max(-1)
            top = score.topk(min(per_image, len(score))).indices
            embeds.append(emb[top])
            labels.append(pred[top])
    if not embeds:
        raise ValueError('No regions found on the sampled images.')
    return dict(embeds=torch.cat(embeds).cpu(),
                labels=torch.cat(labels).cpu(),
                colour_by='ground truth' if two_stage else
                'predicted class', num_images=len(idxs))


def pca_2d(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and top-2 principal axes of ``x`` (M, D), and the explained
    variance ratios; project with ``(y - mean) @ axes.T``."""
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s**2
    return mean, vt[:2], var[:2] / max(var.sum(), 1e-12)


def plot_regions(path, regions, text_emb, names, title_prefix):
    import matplotlib.pyplot as plt
    x = regions['embeds'].numpy()
    lab = regions['labels'].numpy()
    mean, axes, ratio = pca_2d(x)
    p = (x - mean) @ axes.T
    t = (text_emb.numpy() - mean) @ axes.T
    cmap = plt.get_cmap('tab20')
    fig, ax = plt.subplots(figsize=(8, 6.5))
    bg = lab < 0
    if bg.any():
        ax.scatter(p[bg, 0], p[bg, 1], s=8, c='lightgrey',
                   label='background (IoU < 0.5)')
    for c in sorted(set(lab[~bg].tolist())):
        m = lab == c
        ax.scatter(p[m, 0], p[m, 1], s=14, color=cmap(c % 20),
                   label=names[c])
    for c, name in enumerate(names):
        ax.scatter(t[c, 0], t[c, 1], marker='*', s=120, color=cmap(c % 20),
                   edgecolors='k', linewidths=0.6)
        if len(names) <= 40:
            ax.annotate(name, t[c], fontsize=6, xytext=(3, 3),
                        textcoords='offset points')
    ax.set_xlabel(f'PC1 ({100 * ratio[0]:.1f}% var.)')
    ax.set_ylabel(f'PC2 ({100 * ratio[1]:.1f}% var.)' if len(ratio) > 1
                  else 'PC2')
    if len(set(lab.tolist())) <= 25:
        ax.legend(fontsize=7, loc='best', markerscale=1.2)
    title = (f'{title_prefix}PCA of {len(x)} region embeddings '
             f'({regions["num_images"]} images), coloured by '
             f'{regions["colour_by"]}; stars: class text embeddings')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title, ratio


# ---------------------------------------------------------------------------
def main(argv=None) -> Dict:
    """Run the analysis; returns the summary also written to JSON."""
    args = parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    from mmengine.config import Config

    import mmdet_clipjoint  # noqa: F401
    from mmdet.apis import init_detector
    from mmdet.registry import DATASETS
    from mmdet_clipjoint.models.layers import ContrastiveTextBank

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} not found')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out_dir = args.out_dir or osp.join(
        osp.dirname(osp.abspath(args.checkpoint)), 'text_bank_analysis')
    os.makedirs(out_dir, exist_ok=True)
    model = init_detector(cfg, args.checkpoint, device=args.device)
    model.eval()
    banks = [(n, m) for n, m in model.named_modules()
             if isinstance(m, ContrastiveTextBank)]
    if not banks:
        raise ValueError(f'{args.config} builds no ContrastiveTextBank: '
                         'is it a ClipJoint config?')

    summary = dict(config=osp.abspath(args.config),
                   checkpoint=osp.abspath(args.checkpoint), banks={})
    for name, bank in banks:
        prefix = '' if len(banks) == 1 else name.replace('.', '_') + '_'
        tprefix = '' if len(banks) == 1 else f'{name}: '
        names = list(bank.class_names)
        learned = F.normalize(bank.embeddings.detach().float().cpu(), dim=-1)
        init, init_desc = initial_embeddings(bank, args.init_embeddings,
                                             args.encode_clip)
        drift = None if init is None else \
            (1 - (init * learned).sum(-1)).tolist()
        temps = bank.temperatures().detach().cpu().tolist()
        t_labels = names + (['background'] if len(temps) > len(names)
                            else [])
        bank_cfg = _cfg_at(cfg.model, name)
        init_temp = bank_cfg.get('temperature', 0.07)
        figs = {}
        f = osp.join(out_dir, prefix + 'similarity.png')
        figs['similarity'] = dict(path=f, title=plot_similarity(
            f, names, learned, init, init_desc, tprefix))
        f = osp.join(out_dir, prefix + 'drift.png')
        figs['drift'] = dict(path=f, title=plot_drift(
            f, names, drift, init_desc, tprefix))
        f = osp.join(out_dir, prefix + 'temperatures.png')
        figs['temperatures'] = dict(path=f, title=plot_temperatures(
            f, t_labels, temps, init_temp, bank.temperature_range, tprefix))
        off = ~torch.eye(len(names), dtype=torch.bool)
        summary['banks'][name] = dict(
            class_names=names, init_source=bank.init_source,
            init_available=init is not None, init_description=init_desc,
            drift=drift, temperatures=temps, temperature_labels=t_labels,
            mean_offdiag_similarity_learned=float(
                (learned @ learned.t())[off].mean()) if len(names) > 1
            else None,
            mean_offdiag_similarity_init=None if init is None or
            len(names) < 2 else float((init @ init.t())[off].mean()),
            figures=figs)

    if args.num_images > 0:
        dl = cfg.get(f'{args.split}_dataloader')
        if not dl:
            raise ValueError(f'The config has no {args.split}_dataloader.')
        dataset = DATASETS.build(dl['dataset'])
        regions = collect_region_embeddings(model, dataset, args.num_images,
                                            args.per_image)
        name, bank = banks[0]
        text = F.normalize(bank.embeddings.detach().float().cpu(), dim=-1)
        f = osp.join(out_dir, 'region_embeddings_pca.png')
        title, ratio = plot_regions(f, regions, text, list(bank.class_names),
                                    '')
        summary['regions'] = dict(
            path=f, title=title, num_points=len(regions['embeds']),
            num_images=regions['num_images'],
            colour_by=regions['colour_by'],
            labels=regions['labels'].tolist(),
            explained_variance=[float(r) for r in ratio])
    with open(osp.join(out_dir, 'summary.json'), 'w') as fh:
        json.dump(summary, fh, indent=2)
    print(f'Wrote the text-bank analysis to {out_dir}:')
    for fname in sorted(os.listdir(out_dir)):
        print(f'  {fname}')
    return summary


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f'analyze_text_bank: error: {e}')
