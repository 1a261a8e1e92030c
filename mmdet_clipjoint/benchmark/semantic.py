# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The semantic benchmark world: COCO names, shipped CLIP rows, emoji art.

The presets of :mod:`.presets` with ``dataset='semantic'`` draw their
classes with :func:`mmdet_clipjoint.datasets.make_semantic_dataset`, start
the text bank from the shipped CLIP ViT-B/32 ``coco`` rows, and compare it
with control banks that remove only the prior:

* ``permuted`` -- the same CLIP rows, deranged among the classes (same
  statistics, no meaning; :func:`derangement`);
* ``centred`` -- the rows minus the mean of the 80 COCO rows, renormalised
  (relative semantics kept, the narrow cone of CLIP text opened: pairwise
  cosines of COCO names lie around 0.8-0.93);
* random and frozen banks are configuration variants
  (:data:`~.experiments.CLIPJOINT_VARIANTS`).

This module computes what depends on CLIP geometry: nearest neighbours, the
neighbour-picked rare set, the noise flip map and the rows files.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

__all__ = [
    'SEMANTIC_CLASSES', 'TEXT_ROWS', 'clip_rows', 'clip_similarity',
    'nearest_neighbours', 'neighbour_rare_classes', 'derangement',
    'text_rows', 'write_text_rows'
]

#: The semantic CPU world: 15 COCO classes in three families whose members
#: look alike and are CLIP neighbours (vehicles, four-legged animals,
#: fruit / vegetables / food).
SEMANTIC_CLASSES: Tuple[str, ...] = (
    'car', 'bus', 'bicycle', 'motorcycle', 'truck',
    'dog', 'horse', 'cow', 'cat', 'sheep',
    'apple', 'banana', 'pizza', 'orange', 'carrot')

#: Kinds of control / remedy rows :func:`write_text_rows` can write.
TEXT_ROWS = ('permuted', 'centred', 'centred-permuted')


def clip_rows(classes: Sequence[str], vocabulary: str = 'coco'):
    """The shipped CLIP rows of ``classes`` (Tensor (C, 512), unit norm)."""
    from ..models.utils.vocabularies import vocabulary_embeddings
    return vocabulary_embeddings(vocabulary, list(classes))


def clip_similarity(classes: Sequence[str],
                    vocabulary: str = 'coco') -> np.ndarray:
    """Cosine similarity (C, C) of the classes' CLIP text rows."""
    emb = clip_rows(classes, vocabulary)
    return (emb @ emb.T).numpy()


def nearest_neighbours(classes: Sequence[str],
                       vocabulary: str = 'coco') -> Dict[str, str]:
    """``{class: its nearest other class in CLIP text space}`` -- the flip
    map of the class-dependent noise (car -> truck, cat -> dog, ...)."""
    sim = clip_similarity(classes, vocabulary)
    np.fill_diagonal(sim, -np.inf)
    return {c: classes[int(sim[i].argmax())] for i, c in enumerate(classes)}


def neighbour_rare_classes(classes: Sequence[str], n: int,
                           vocabulary: str = 'coco') -> List[str]:
    """``n`` rare classes, each with a frequent CLIP neighbour.

    Pairs of classes are taken from the most similar down, each class in at
    most one pair; the later member of a pair (in ``classes`` order) is the
    rare one, so its closest partner stays frequent.

    Returns:
        list[str]: The rare classes, in ``classes`` order.
    """
    sim = clip_similarity(classes, vocabulary)
    C = len(classes)
    if not 0 < n <= C // 2:
        raise ValueError(f'n={n} rare classes need 2n <= {C} classes')
    pairs = sorted(((sim[i, j], i, j) for i in range(C)
                    for j in range(i + 1, C)), reverse=True)
    used, rare = set(), []
    for _, i, j in pairs:
        if i in used or j in used:
            continue
        used.update((i, j))
        rare.append(j)
        if len(rare) == n:
            break
    return [classes[k] for k in sorted(rare)]


def derangement(n: int, seed: int = 0) -> List[int]:
    """A seeded permutation of ``range(n)`` with no fixed point (n >= 2)."""
    if n < 2:
        raise ValueError('a derangement needs at least 2 elements')
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(n)
        if not (perm == np.arange(n)).any():
            return [int(p) for p in perm]


def text_rows(kind: str, classes: Sequence[str], vocabulary: str = 'coco',
              seed: int = 0) -> torch.Tensor:
    """Rows (C, 512) of a control / remedy bank.

    Args:
        kind: ``'permuted'`` (class i gets the CLIP row of class
            ``derangement(C, seed)[i]``), ``'centred'`` (the row minus the
            mean of every row of the vocabulary, renormalised) or
            ``'centred-permuted'`` (the centred rows deranged the same way:
            the control of the centred remedy -- its geometry, no meaning).
    """
    from ..models.utils.vocabularies import centre_rows, vocabulary_centre
    emb = clip_rows(classes, vocabulary)
    if kind == 'permuted':
        return emb[derangement(len(classes), seed)].clone()
    if kind in ('centred', 'centred-permuted'):
        # the rows ContrastiveTextBank(centre=vocabulary) starts from
        rows = centre_rows(emb, vocabulary_centre(vocabulary))
        if kind == 'centred-permuted':
            rows = rows[derangement(len(classes), seed)].clone()
        return rows
    raise ValueError(f'unknown text rows {kind!r}; choose from {TEXT_ROWS}')


def write_text_rows(out_dir: str, classes: Sequence[str],
                    vocabulary: str = 'coco',
                    seed: int = 0) -> Dict[str, str]:
    """Write every :data:`TEXT_ROWS` kind as an embeddings file
    (``{'embeddings', 'class_names', 'kind'}``, read by a bank with
    ``init_source='file'``) under ``out_dir``; returns ``{kind: path}``."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for kind in TEXT_ROWS:
        path = osp.join(out_dir, f'text_rows_{kind}.pt')
        torch.save(dict(embeddings=text_rows(kind, classes, vocabulary,
                                             seed),
                        class_names=list(classes), kind=kind,
                        vocabulary=vocabulary), path + '.tmp')
        os.replace(path + '.tmp', path)
        paths[kind] = path
    return paths
