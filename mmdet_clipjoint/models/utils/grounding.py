# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Grounding batches: what kind a sample is, its boxes as detection
targets, and its phrases as targets of the word-region loss."""
from typing import List, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.structures import DetDataSample, SampleList

__all__ = [
    'SAMPLE_KINDS', 'sample_kind', 'grounding_detection_samples',
    'grounding_phrase_targets'
]

#: the kinds of training samples a hybrid detector routes
SAMPLE_KINDS = ('detection', 'grounding', 'caption')


def sample_kind(sample: DetDataSample) -> str:
    """``'grounding'`` (``metainfo['phrase_labels']``, from
    :class:`GroundingPhraseDataset`), ``'caption'`` (``metainfo['phrases']``
    only, :class:`CaptionPhraseDataset`) or ``'detection'``."""
    meta = sample.metainfo
    if 'phrase_labels' in meta:
        return 'grounding'
    return 'caption' if 'phrases' in meta else 'detection'


def grounding_detection_samples(
        batch_data_samples: SampleList) -> Tuple[SampleList, List[Tensor]]:
    """Grounding samples as detection samples (class labels).

    A box's ``gt_instances.labels`` entry is its phrase index; its class is
    ``metainfo['phrase_labels'][phrase]``. Boxes of phrases without a class
    (-1) join ``ignored_instances`` (not a target; not background where the
    assigner honours ignore regions). The inputs are not modified.

    Args:
        batch_data_samples (list[:obj:`DetDataSample`]): B grounding
            samples.

    Returns:
        tuple: the B detection samples (same metainfo), and per image a
        (n_i,) long tensor: each box's index in the detection sample's
        ``gt_instances``, or -1 where it became ignored.
    """
    out, det_index = [], []
    for s in batch_data_samples:
        gt = s.gt_instances
        phrase_labels = gt.labels.new_tensor(
            list(s.metainfo['phrase_labels']) + [-1])
        labels = phrase_labels[gt.labels.clamp(min=0)] if len(gt) else \
            gt.labels
        keep = labels >= 0
        det = DetDataSample(metainfo=s.metainfo)
        det.gt_instances = InstanceData(bboxes=gt.bboxes[keep],
                                        labels=labels[keep])
        ignored = InstanceData(bboxes=gt.bboxes[~keep],
                               labels=labels[~keep].clamp(min=0))
        if 'ignored_instances' in s:
            ignored = InstanceData.cat([s.ignored_instances, ignored])
        det.ignored_instances = ignored
        index = torch.full_like(labels, -1)
        index[keep] = torch.arange(int(keep.sum()), device=labels.device)
        out.append(det)
        det_index.append(index)
    return out, det_index


def grounding_phrase_targets(
        text_bank, batch_data_samples: SampleList,
        like: Tensor) -> Tuple[Tensor, List[Tensor]]:
    """The batch's distinct phrases, embedded, and each box's phrase.

    Args:
        text_bank: A bank with ``encode_phrases`` / ``known_phrases``
            (:class:`PhraseTextBank`).
        batch_data_samples (list[:obj:`DetDataSample`]): B grounding
            samples (``metainfo['phrases']``; ``gt_instances.labels`` are
            phrase indices).
        like (Tensor): gives the dtype and device of the result.

    Returns:
        tuple: ``(M, D)`` embeddings of the M distinct phrases of the batch
        that the encoder knows (a phrase without a known word is dropped),
        and per image a (n_i,) long tensor: each box's row in them, or -1.
    """
    names: List[str] = []
    targets = []
    for s in batch_data_samples:
        phrases = list(s.metainfo['phrases'])
        known = set(text_bank.known_phrases(phrases))
        rows = []
        for p in phrases:
            if p in known and p not in names:
                names.append(p)
            rows.append(names.index(p) if p in known else -1)
        table = torch.tensor(rows + [-1], dtype=torch.long,
                             device=like.device)
        labels = s.gt_instances.labels.to(like.device)
        targets.append(table[labels] if len(labels) else labels.long())
    if names:
        emb = text_bank.encode_phrases(names, unknown='ignore').to(like.dtype)
    else:
        emb = like.new_zeros(0, text_bank.embed_dim)
    return emb, targets
