# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Caption phrases of a batch, embedded and padded for the word-region
loss."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import OptConfigType

__all__ = ['build_word_region_loss', 'caption_phrase_batch']


def build_word_region_loss(cfg: OptConfigType, text_bank, owner: str,
                           caption_topk: int) -> Optional[nn.Module]:
    """The head's :class:`WordRegionAlignmentLoss` (None when ``cfg`` is),
    after checking that the bank can embed caption phrases.

    Raises:
        ValueError: a bank without a phrase encoder, or ``caption_topk``
            < 1.
    """
    if caption_topk < 1:
        raise ValueError(f'caption_topk={caption_topk} must be >= 1.')
    if not cfg:
        return None
    if not hasattr(text_bank, 'encode_phrases'):
        raise ValueError(
            f"{owner}'s loss_word_region embeds caption phrases with the "
            f"text bank's phrase encoder, but the bank is a "
            f'{type(text_bank).__name__}: use '
            "text_bank=dict(type='PhraseTextBank', phrase_encoder=...).")
    return MODELS.build(cfg)


def caption_phrase_batch(text_bank, batch_data_samples: SampleList,
                         like: Tensor) -> Tuple[Tensor, Tensor]:
    """Embed each sample's ``metainfo['phrases']`` with the bank's phrase
    encoder.

    Phrases without a word the encoder knows are dropped (a caption may name
    things outside the concept vocabulary).

    Args:
        text_bank: A bank with ``encode_phrases`` / ``known_phrases``
            (:class:`PhraseTextBank`).
        batch_data_samples (list[:obj:`DetDataSample`]): B caption samples.
        like (Tensor): gives the dtype and device of the result.

    Returns:
        tuple[Tensor]: phrase embeddings (B, P, D), zero-padded, and their
        mask (B, P) bool (P = the most phrases of a caption, at least 1).
    """
    phrases = [
        text_bank.known_phrases(s.metainfo.get('phrases', []))
        for s in batch_data_samples
    ]
    B, P = len(phrases), max([len(p) for p in phrases] + [1])
    emb = like.new_zeros(B, P, text_bank.embed_dim)
    mask = torch.zeros(B, P, dtype=torch.bool, device=like.device)
    flat = [p for ps in phrases for p in ps]
    if flat:
        enc = text_bank.encode_phrases(flat, unknown='ignore').to(like.dtype)
        start = 0
        for i, ps in enumerate(phrases):
            emb[i, :len(ps)] = enc[start:start + len(ps)]
            mask[i, :len(ps)] = True
            start += len(ps)
    return emb, mask
