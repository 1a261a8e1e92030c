# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .contrastive_text_bank import ContrastiveTextBank
from .score_fusion import SCORE_MODES, check_score_mode, fuse_probs

__all__ = ['ContrastiveTextBank', 'SCORE_MODES', 'check_score_mode',
           'fuse_probs']
