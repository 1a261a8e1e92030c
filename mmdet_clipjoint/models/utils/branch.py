# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Building and checking the parts every ClipJoint head shares."""
from typing import Optional, Tuple

from torch import nn

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType

__all__ = ['build_clipjoint_parts']


def build_clipjoint_parts(owner: str, num_classes: int,
                          text_bank: ConfigType, loss_contrast: ConfigType,
                          loss_aux: OptConfigType,
                          max_grad_share: Optional[float],
                          background_samples: str
                          ) -> Tuple[nn.Module, nn.Module,
                                     Optional[nn.Module]]:
    """Build the text bank and the branch's losses, with clear errors.

    Args:
        owner (str): The head's name, for the messages.
        num_classes (int): The head's C.
        text_bank (dict): Config of a ``ContrastiveTextBank``.
        loss_contrast (dict): Config of the foreground term.
        loss_aux (dict, optional): Config of the background term.
        max_grad_share (float, optional): The gradient bound to check.
        background_samples (str): What the aux CE trains (for the message).

    Returns:
        tuple: ``(text_bank, loss_contrast, loss_aux or None)``.
    """
    bank = MODELS.build(text_bank)
    if bank.num_classes != num_classes:
        raise ValueError(
            f'The text bank has {bank.num_classes} class names but {owner} '
            f'has num_classes={num_classes}. Give the bank one name per '
            'class (in dataset order) or fix num_classes.')
    contrast = MODELS.build(loss_contrast)
    aux = MODELS.build(loss_aux) if loss_aux else None
    for name, loss in (('loss_contrast', contrast), ('loss_aux', aux)):
        if loss is not None and getattr(loss, 'loss_weight', 0) < 0:
            raise ValueError(f'{name}.loss_weight must be >= 0.')
    if aux is not None and not bank.with_background:
        raise ValueError(
            f'loss_aux trains the {background_samples} towards the text '
            "bank's background entry, but the bank has background=None. "
            "Set the bank's background to 'learned' or 'zero', or "
            'loss_aux=None.')
    if max_grad_share is not None and max_grad_share < 0:
        raise ValueError(f'max_grad_share={max_grad_share} must be >= 0 '
                         '(or None for no bound).')
    return bank, contrast, aux
