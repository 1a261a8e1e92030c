# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .clipjoint_head_mixin import BRANCH_KEYS, ClipJointHeadMixin
from .contrastive_branch import ContrastiveBranch
from .contrastive_text_bank import ContrastiveTextBank
from .grad_share import GradShareFork, fork_with_grad_share
from .phrase_encoders import (DEFAULT_STOPWORDS, CLIPPhraseEncoder,
                              ConceptWordTable)
from .phrase_text_bank import PhraseTextBank
from .score_fusion import (SCORE_MODES, ScoreModeMixin, check_score_mode,
                           fuse_probs, set_score_mode)

__all__ = [
    'ContrastiveBranch', 'ClipJointHeadMixin', 'BRANCH_KEYS',
    'ContrastiveTextBank', 'GradShareFork', 'fork_with_grad_share',
    'SCORE_MODES', 'ScoreModeMixin', 'check_score_mode', 'fuse_probs',
    'set_score_mode', 'ConceptWordTable', 'CLIPPhraseEncoder',
    'DEFAULT_STOPWORDS', 'PhraseTextBank'
]
