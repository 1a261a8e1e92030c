# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A text bank whose classes are phrases of a phrase encoder (DetCLIPv2)."""
import re
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from .contrastive_text_bank import ContrastiveTextBank

__all__ = ['PhraseTextBank']


@MODELS.register_module()
class PhraseTextBank(ContrastiveTextBank):
    """Class embeddings computed from a phrase encoder, not stored.

    The C class names are phrases ("red square"); their embeddings are
    ``phrase_encoder.encode_phrases(class_names)`` on every forward, so the
    detection loss (InfoNCE over the classes) trains the encoder's *words*,
    and so does :class:`WordRegionAlignmentLoss` on captions: a name that
    no box label carries ("red square", when only red circles and blue
    squares have boxes) is embedded from the words it shares with trained
    ones, and any phrase of known words is a class at inference
    (:func:`~mmdet_clipjoint.apis.set_vocabulary`). Temperatures and the
    background entry work as in :class:`ContrastiveTextBank`.

    Args:
        class_names: The C class phrases (or a registered dataset type).
        phrase_encoder (dict): Config of a :class:`ConceptWordTable` (the
            learnable, offline word table) or a :class:`CLIPPhraseEncoder`
            (frozen open_clip text tower). A ConceptWordTable config without
            ``words`` gets the words of the class names plus
            ``extra_words``.
        extra_words (Sequence[str]): More words for the table (e.g. caption
            concepts no class name has).
        **kwargs: :class:`ContrastiveTextBank` arguments (``background``,
            ``temperature``, ...); ``init_source``, ``vocabulary``,
            ``embeddings_file``, ``drift_weight`` and ``centre`` do not
            apply (the encoder initialises itself).
    """

    def __init__(self,
                 class_names,
                 phrase_encoder: ConfigType,
                 extra_words: Sequence[str] = (),
                 **kwargs) -> None:
        for k in ('init_source', 'vocabulary', 'embeddings_file'):
            if kwargs.pop(k, None) not in (None, 'random'):
                print_log(
                    f'PhraseTextBank ignores {k}: the class embeddings come '
                    'from the phrase encoder', logger='current',
                    level=30)
        if kwargs.get('centre') is not None:
            raise ValueError('PhraseTextBank embeds its classes with its '
                             'phrase encoder, it holds no CLIP rows to '
                             'centre: drop `centre`.')
        if kwargs.get('drift_weight'):
            raise ValueError('PhraseTextBank has no stored class embeddings '
                             'to keep near their initialisation: '
                             'drift_weight must be 0.')
        super().__init__(class_names, init_source='random', **kwargs)
        cfg = dict(phrase_encoder)
        if cfg.get('type') == 'ConceptWordTable':
            if not cfg.get('words'):
                words = []
                for name in list(self.prompt_names) + list(extra_words):
                    for w in re.findall(r'[a-z]+', name.lower()):
                        if w not in words:
                            words.append(w)
                cfg['words'] = words
            cfg.setdefault('embed_dim', self.embed_dim)
        self.phrase_encoder = MODELS.build(cfg)
        dim = getattr(self.phrase_encoder, 'embed_dim', self.embed_dim)
        if dim != self.embed_dim:
            raise ValueError(
                f'the phrase encoder embeds in {dim} dimensions but the bank '
                f'has embed_dim={self.embed_dim}: make them equal.')
        # the stored class embeddings are unused until set_vocabulary
        self.embeddings.requires_grad_(False)
        self.init_description = \
            f'phrases of {type(self.phrase_encoder).__name__}'
        tokenize = getattr(self.phrase_encoder, 'tokenize', None)
        if tokenize is not None:  # a clear error now for unknown words
            for name in self.prompt_names:
                if not tokenize(name, 'raise'):
                    raise ValueError(f'class name {name!r} has no word of '
                                     'the phrase encoder.')

    def encode_names(self, names: Sequence[str]) -> Tensor:
        """Phrase embeddings of class names, (C', D), L2-normalised."""
        return self.phrase_encoder.encode_phrases(list(names))

    def encode_phrases(self,
                       phrases: Sequence[str],
                       unknown: Optional[str] = None) -> Tensor:
        """Caption phrases, (P, D), L2-normalised (``unknown`` as in
        :meth:`ConceptWordTable.tokenize`; ignored by a CLIP encoder)."""
        if unknown is not None and hasattr(self.phrase_encoder, 'tokenize'):
            return self.phrase_encoder.encode_phrases(list(phrases), unknown)
        return self.phrase_encoder.encode_phrases(list(phrases))

    def known_phrases(self, phrases: Sequence[str]) -> list:
        """The phrases with at least one word the encoder knows."""
        tok = getattr(self.phrase_encoder, 'tokenize', None)
        if tok is None:
            return list(phrases)
        return [p for p in phrases if tok(p, 'ignore')]

    def text_embeddings(self) -> Tensor:
        """The class phrases (+ learned background), (K, D), normalised;
        after :meth:`set_classes`, the stored embeddings of the new
        names."""
        if self.is_swapped:
            return super().text_embeddings()
        emb = self.encode_names(self.prompt_names)
        if self.bg_embedding is not None:
            emb = torch.cat([emb, self.bg_embedding.to(emb.dtype)], dim=0)
        return F.normalize(emb, dim=-1)

    @torch.no_grad()
    def init_weights(self) -> None:
        """Initialise the phrase encoder (its own rule); no class-embedding
        initialisation happens here."""
        BaseModule.init_weights(self)
        if hasattr(self.phrase_encoder, 'init_weights'):
            self.phrase_encoder.init_weights()
        print_log(
            f'PhraseTextBank: {self.num_classes} classes embedded as '
            f'phrases of {self.phrase_encoder!r}'.replace('\n', ' '),
            logger='current')

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, embed_dim={self.embed_dim}'
                f', background={self.background!r}')
