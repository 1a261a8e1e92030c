# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .infonce_loss import InfoNCELoss, infonce_loss

__all__ = ['InfoNCELoss', 'infonce_loss']
