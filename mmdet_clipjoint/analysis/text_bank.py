# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""What training did to the ClipJoint text bank(s) of a checkpoint.

:func:`analyze_text_banks` compares each bank's learned class embeddings
with their re-created initialisation (:func:`initial_embeddings`), reads its
temperatures, embeds the top-scoring regions of a few images
(:func:`collect_region_embeddings`), writes the figures of
:mod:`.text_bank_plots` and returns a summary. The command line is
``tools/analyze_text_bank.py``.
"""
import json
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    'initial_embeddings', 'collect_region_embeddings', 'pca_2d',
    'analyze_text_banks'
]


# ---------------------------------------------------------------------------
# text bank: initialisation vs learned
# ---------------------------------------------------------------------------
def initial_embeddings(bank, init_file: Optional[str] = None,
                       encode_clip: bool = False,
                       stored: bool = False
                       ) -> Tuple[Optional[torch.Tensor], str]:
    """A bank's initial class embeddings: the copy the checkpoint stores
    (``stored``: its ``init_embeddings`` buffer was loaded), else re-created
    from ``init_file`` or the bank's configured source.

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
    if stored:
        return (F.normalize(bank.init_embeddings.detach().float().cpu(),
                            dim=-1),
                'the initial embeddings stored in the checkpoint')
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
                emb = head.region_embeddings(res['bbox_feats'])
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


def analyze_text_banks(model,
                       cfg,
                       out_dir: str,
                       init_embeddings: Optional[str] = None,
                       encode_clip: bool = False,
                       dataset=None,
                       num_images: int = 8,
                       per_image: int = 20,
                       meta: Optional[dict] = None,
                       checkpoint_keys: Optional[set] = None) -> Dict:
    """Write the figures of every text bank of ``model`` to ``out_dir``.

    Args:
        model (nn.Module): A ClipJoint detector with its checkpoint loaded
            (``mmdet.apis.init_detector``), in eval mode.
        cfg (Config): Its config (the banks' configured temperatures).
        out_dir (str): Where the PNG figures and ``summary.json`` go.
        init_embeddings (str, optional): Embeddings file holding the
            initialisation (overrides the config).
        encode_clip (bool): For ``init_source='clip'``, let open_clip load
            the pretrained tag's weights to re-create the initialisation.
        dataset (Dataset, optional): Images for the region-embedding plot
            (None or ``num_images=0``: skip it).
        num_images (int): Images sampled from ``dataset``.
        per_image (int): Top-scoring RoIs / locations per image.
        meta (dict, optional): Extra entries of the summary (e.g. the
            config and checkpoint paths).
        checkpoint_keys (set, optional): The checkpoint's state-dict keys;
            a bank whose ``init_embeddings`` is among them compares with
            that stored copy.

    Returns:
        dict: The summary (per bank: drift, temperatures, similarities and
        figure paths; ``regions`` for the PCA plot), also written to
        ``out_dir/summary.json``.
    """
    from mmdet_clipjoint.models.layers import ContrastiveTextBank
    from .text_bank_plots import (plot_drift, plot_regions, plot_similarity,
                                  plot_temperatures)
    banks = [(n, m) for n, m in model.named_modules()
             if isinstance(m, ContrastiveTextBank)]
    if not banks:
        raise ValueError('The model builds no ContrastiveTextBank: is its '
                         'config a ClipJoint config?')
    os.makedirs(out_dir, exist_ok=True)
    summary = dict(meta or {}, banks={})
    for name, bank in banks:
        prefix = '' if len(banks) == 1 else name.replace('.', '_') + '_'
        tprefix = '' if len(banks) == 1 else f'{name}: '
        names = list(bank.class_names)
        learned = F.normalize(bank.embeddings.detach().float().cpu(), dim=-1)
        stored = f'{name}.init_embeddings' in (checkpoint_keys or ()) \
            and bank.init_embeddings_known
        init, init_desc = initial_embeddings(bank, init_embeddings,
                                             encode_clip, stored)
        drift = None if init is None else \
            (1 - (init * learned).sum(-1)).tolist()
        temps = bank.temperatures().detach().cpu().tolist()
        t_labels = names + (['background'] if len(temps) > len(names)
                            else [])
        init_temp = _cfg_at(cfg.model, name).get('temperature', 0.07)
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

    if dataset is not None and num_images > 0:
        regions = collect_region_embeddings(model, dataset, num_images,
                                            per_image)
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
    return summary
