# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Long-tailed subsampling of any mmdet training set."""
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet.registry import DATASETS
from .annotation_wrapper import AnnotationStressWrapper

__all__ = ['LongTailDataset']


@DATASETS.register_module()
class LongTailDataset(AnnotationStressWrapper):
    """Subsample images so that class counts follow an exponential profile.

    Target instances of the class of rank r (0 = head) are
    ``n_max * imbalance_ratio ** (-r / (C - 1))`` with ``n_max`` the count of
    the most frequent class. Images are removed greedily, rarest class
    first, never removing an image that holds a rarer (already processed)
    class; the realised per-class counts are logged next to the targets
    and kept in ``self.counts`` / ``self.targets``.

    Args:
        dataset (dict | BaseDataset): The training dataset (config).
        imbalance_ratio (float): Head / tail count ratio (>= 1).
        class_order (sequence[str], optional): Classes from head to tail;
            default: dataset order (class 0 is the head).
        seed (int): Seed of the random image choice.
        lazy_init (bool): Defer the subsampling to :meth:`full_init`.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 imbalance_ratio: float = 50.0,
                 class_order: Optional[Sequence[str]] = None,
                 seed: int = 0,
                 lazy_init: bool = False) -> None:
        if imbalance_ratio < 1:
            raise ValueError(f'imbalance_ratio={imbalance_ratio} must be '
                             '>= 1 (head count / tail count).')
        self.imbalance_ratio = float(imbalance_ratio)
        self.class_order = class_order
        super().__init__(dataset, seed=seed, lazy_init=lazy_init)

    def _build(self, rng: np.random.Generator) -> None:
        classes = list(self._metainfo['classes'])
        C = len(classes)
        if self.class_order is not None:
            if sorted(self.class_order) != sorted(classes):
                raise ValueError('class_order must list every class of the '
                                 f'dataset once: {classes}.')
            order = [classes.index(c) for c in self.class_order]
        else:
            order = list(range(C))
        labels = {i: self._labels_of(i) for i in range(len(self.dataset))}
        counts = np.zeros(C, dtype=np.int64)
        for ls in labels.values():
            np.add.at(counts, ls, 1)
        n_head = int(counts[order[0]]) if C else 0
        targets = np.zeros(C, dtype=np.int64)
        for rank, c in enumerate(order):
            targets[c] = max(1, int(round(
                n_head * self.imbalance_ratio**(-rank / max(C - 1, 1)))))
        # images without objects are kept; the others are selected
        kept = {i for i, ls in labels.items() if not ls}
        have = np.zeros(C, dtype=np.int64)
        done: set = set()
        for c in reversed(order):  # tail first
            tie = rng.permutation(len(labels))
            cands = []
            for t, (i, ls) in zip(tie, labels.items()):
                if i in kept or c not in ls:
                    continue
                extra = np.bincount(ls, minlength=C)
                if any(extra[d] and have[d] + extra[d] > targets[d]
                       for d in done):
                    continue  # would push a rarer class over its target
                # prefer images with few instances of other classes
                cands.append((len(ls) - extra[c], t, i))
            for _, _, i in sorted(cands):
                if have[c] >= targets[c]:
                    break
                kept.add(i)
                np.add.at(have, labels[i], 1)
            done.add(c)
        self.indices = sorted(kept)
        final = np.zeros(C, dtype=np.int64)
        for i in self.indices:
            np.add.at(final, labels[i], 1)
        self.counts, self.targets = final, targets
        print_log(
            f'LongTailDataset (ratio {self.imbalance_ratio:g}, seed '
            f'{self.seed}): kept {len(self.indices)}/{len(labels)} images. '
            'Per class (name: kept / target / before):\n' + '\n'.join(
                f'  {classes[c]}: {final[c]} / {targets[c]} / {counts[c]}'
                for c in order), logger='current')
