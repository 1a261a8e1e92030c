# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Label noise for any mmdet training set, configured in the config."""
from typing import Dict, Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet.registry import DATASETS
from .annotation_wrapper import AnnotationStressWrapper

__all__ = ['NoisyLabelDataset']


@DATASETS.register_module()
class NoisyLabelDataset(AnnotationStressWrapper):
    """Flip box labels of a training set at rate ``noise_rate``.

    Each non-ignored instance is flipped with probability ``noise_rate``:

    * ``symmetric``: to a class drawn uniformly among the other C - 1;
    * ``pairwise`` (class-dependent): to ``flip_map[class]``, a confusable
      class (default: the next class index, the usual "pair flip").

    The realised C x C noise matrix (rows: true class, columns: given
    label) is logged and kept in ``self.noise_matrix``. Use it on the
    training dataloader only::

        train_dataloader = dict(dataset=dict(
            type='NoisyLabelDataset', noise_rate=0.3, seed=0,
            dataset={{_base_.train_dataloader.dataset}}))

    Args:
        dataset (dict | BaseDataset): The training dataset (config).
        noise_rate (float): Probability of flipping a label, in [0, 1).
        noise_type (str): ``'symmetric'`` or ``'pairwise'``.
        flip_map (dict, optional): ``{class_name: confusable_class_name}``
            for ``pairwise``; classes not in the map flip to the next index.
        seed (int): Seed; the same seed gives the same flips.
        lazy_init (bool): Defer the flips to :meth:`full_init`.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 noise_rate: float = 0.3,
                 noise_type: str = 'symmetric',
                 flip_map: Optional[Dict[str, str]] = None,
                 seed: int = 0,
                 lazy_init: bool = False) -> None:
        if not 0.0 <= noise_rate < 1.0:
            raise ValueError(f'noise_rate={noise_rate} must be in [0, 1).')
        if noise_type not in ('symmetric', 'pairwise'):
            raise ValueError(f'noise_type={noise_type!r}: use symmetric or '
                             'pairwise.')
        self.noise_rate = noise_rate
        self.noise_type = noise_type
        self.flip_map = dict(flip_map or {})
        self.noise_matrix: Optional[np.ndarray] = None
        super().__init__(dataset, seed=seed, lazy_init=lazy_init)

    def _build(self, rng: np.random.Generator) -> None:
        classes = list(self._metainfo['classes'])
        C = len(classes)
        unknown = [k for kv in self.flip_map.items() for k in kv
                   if k not in classes]
        if unknown:
            raise ValueError(f'flip_map names unknown classes {unknown}; '
                             f'the dataset has {classes}.')
        target = [(c + 1) % C for c in range(C)]
        for a, b in self.flip_map.items():
            target[classes.index(a)] = classes.index(b)
        matrix = np.zeros((C, C), dtype=np.int64)
        self.indices = list(range(len(self.dataset)))
        for idx in self.indices:
            labels = self._labels_of(idx)
            noisy = []
            for y in labels:
                z = y
                if rng.uniform() < self.noise_rate:
                    if self.noise_type == 'symmetric':
                        z = int(rng.integers(C - 1))
                        z = z + 1 if z >= y else z
                    else:
                        z = target[y]
                matrix[y, z] += 1
                noisy.append(z)
            self.new_labels[idx] = noisy
        self.noise_matrix = matrix
        total = matrix.sum()
        flipped = total - np.trace(matrix)
        print_log(
            f'NoisyLabelDataset ({self.noise_type}, rate {self.noise_rate}, '
            f'seed {self.seed}): flipped {flipped}/{total} labels '
            f'({flipped / max(total, 1):.3f}). Noise matrix (rows = true '
            f'class, columns = given label; classes {classes}):\n'
            + '\n'.join(' '.join(f'{v:5d}' for v in row) for row in matrix),
            logger='current')
