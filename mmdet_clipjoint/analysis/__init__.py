# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Analyses of trained ClipJoint models (the text bank after training, the
locations sparse fused scoring embeds)."""
from .kept_fraction import kept_fractions
from .text_bank import (analyze_text_banks, collect_region_embeddings,
                        initial_embeddings, pca_2d)

__all__ = [
    'analyze_text_banks', 'collect_region_embeddings', 'initial_embeddings',
    'pca_2d', 'kept_fractions'
]
