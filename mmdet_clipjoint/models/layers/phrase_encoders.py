# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Phrase encoders of DetCLIPv2-style word-region alignment.

Both map noun phrases of captions (``'a brown dog'``, ``'frisbee'``) to
L2-normalised vectors in the region embeddings' joint space, shape (P, D),
through one method, ``encode_phrases(phrases)``:

* :class:`ConceptWordTable`: an offline, learnable table of word vectors
  (W, D) over a fixed concept vocabulary; a phrase is the normalised mean of
  its words' vectors. Needs no text encoder at all; words that are class
  names of a shipped CLIP vocabulary start from their real CLIP text
  embedding.
* :class:`CLIPPhraseEncoder`: open_clip's frozen text tower, each phrase put
  into a prompt template.
"""
import hashlib
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from ..utils.clip_text import (build_clip_model, check_clip_model_name,
                               check_clip_pretrained)

__all__ = ['DEFAULT_STOPWORDS', 'ConceptWordTable', 'CLIPPhraseEncoder']

#: Words dropped by :meth:`ConceptWordTable.tokenize`: articles,
#: prepositions, conjunctions and a few pronouns / verbs of captions.
DEFAULT_STOPWORDS = frozenset(
    ('a an the of with next to and on in near at by for from into onto '
     'or as is are was were be its it his her their this that these those '
     'some while s').split())

#: a token: a run of letters (no digits, no underscore), any alphabet
_TOKEN = re.compile(r'[^\W\d_]+')
_UNKNOWN = ('raise', 'ignore')


def _words_digest(words: Sequence[str]) -> int:
    """A signed 64-bit hash of the ordered word list."""
    blob = '\n'.join(words).encode('utf-8')
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], 'little',
                          signed=True)


def _derange_rows(rows: Tensor, index: List[int], seed: int) -> None:
    """Deal ``rows[index]`` out again in place so that no row keeps its
    own (a cycle through a seeded random order; fewer than 2: unchanged)."""
    if len(index) < 2:
        return
    gen = torch.Generator().manual_seed(int(seed))
    order = [index[int(i)] for i in torch.randperm(len(index), generator=gen)]
    old = rows[order].clone()
    rows[order[1:] + order[:1]] = old


@MODELS.register_module()
class ConceptWordTable(BaseModule):
    """A learnable table of concept-word vectors: the offline phrase encoder.

    A phrase is lower-cased, split on non-letters, stripped of stopwords,
    and encoded as the L2-normalised mean of its words' (normalised)
    vectors. The table is filled in ``__init__``, deterministically from
    ``seed``: building twice gives the same table. Words that are class
    names of ``init_vocabulary`` (compared case-insensitively, ``'_'``
    read as a space) get that vocabulary's real CLIP text embedding; the
    others start as random unit vectors, which carry no meaning until
    trained. How many words came from where is logged.

    The word list is a plain attribute (:attr:`words`, rebuilt from the
    config); the state dict holds the table ``weight`` (W, D) and a hash of
    the ordered word list (``words_digest``), checked when a checkpoint is
    loaded so that rows cannot silently be read under other words.

    Args:
        words (Sequence[str]): The W concept words (single tokens of
            letters; lower-cased here; no duplicates, no stopwords).
        embed_dim (int): Width D of the joint space. Defaults to 512.
        init_vocabulary (str | Sequence[str], optional): Shipped CLIP
            vocabularies, ``'coco'``, ``'lvis'`` or ``'objects365'`` (a
            list: in order of preference), to initialise the words they
            name (:func:`~mmdet_clipjoint.models.utils.vocabularies.
            vocabulary_word_rows`). Needs ``embed_dim=512``. Defaults to
            None (all random).
        init_part_words (bool): With ``init_vocabulary``, also start a
            word that is no class name but a word of multi-word names
            (``'teddy'``) from the mean of those names' CLIP rows.
            Defaults to False.
        learnable (bool): Train the table. Defaults to True.
        stopwords (Sequence[str], optional): Words dropped when
            tokenizing. Defaults to :data:`DEFAULT_STOPWORDS`.
        unknown (str): What :meth:`tokenize` does with a word outside the
            table: ``'raise'`` (a ValueError listing them) or ``'ignore'``
            (drop it). A per-call argument overrides it.
        seed (int): Seed of the random rows. Defaults to 0.
        init_derange (int, optional): The permuted-row control: the rows
            ``init_vocabulary`` gives the words of ``__init__`` are dealt
            out again among those words by a derangement seeded by this
            (every such word gets another word's CLIP row: the same
            statistics, no meaning); words added later
            (:meth:`add_words`) get their own rows. Defaults to None.
        init_cfg (dict, optional): Unused, for the BaseModule API.
    """

    def __init__(self,
                 words: Sequence[str],
                 embed_dim: int = 512,
                 init_vocabulary: Optional[Union[str,
                                                 Sequence[str]]] = None,
                 init_part_words: bool = False,
                 learnable: bool = True,
                 stopwords: Optional[Sequence[str]] = None,
                 unknown: str = 'raise',
                 seed: int = 0,
                 init_derange: Optional[int] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if init_derange is not None and init_vocabulary is None:
            raise ValueError('init_derange deals out the rows of '
                             'init_vocabulary: give init_vocabulary too.')
        self.init_derange = init_derange
        if isinstance(words, str):
            raise TypeError('ConceptWordTable `words` must be a list of '
                            f'words, got the string {words[:40]!r}.')
        if embed_dim <= 0:
            raise ValueError(f'embed_dim={embed_dim} must be > 0.')
        if unknown not in _UNKNOWN:
            raise ValueError(f'unknown={unknown!r}; choose one of '
                             f'{_UNKNOWN}.')
        if isinstance(init_vocabulary, str):
            init_vocabulary = [init_vocabulary]
        if init_vocabulary is not None:
            init_vocabulary = list(init_vocabulary)
            from ..utils.vocabularies import _canonical
            for vocab in init_vocabulary:  # a clear error for unknown names
                _canonical(vocab)
            if not init_vocabulary:
                raise ValueError('init_vocabulary=[] names no vocabulary: '
                                 'give one or more, or None.')
            if embed_dim != 512:
                raise ValueError(
                    f'init_vocabulary={init_vocabulary!r} holds CLIP '
                    'ViT-B/32 text embeddings of width 512, but '
                    f'embed_dim={embed_dim}: set embed_dim=512 or '
                    'init_vocabulary=None.')
        self.stopwords = frozenset(
            DEFAULT_STOPWORDS if stopwords is None else
            (w.lower() for w in stopwords))
        self.embed_dim = int(embed_dim)
        self.init_vocabulary = init_vocabulary
        self.init_part_words = bool(init_part_words)
        self.unknown = unknown
        self.seed = int(seed)
        #: the concept vocabulary, row i of ``weight`` for word i
        self.words: List[str] = []
        self.word_to_index: Dict[str, int] = {}
        words = self._check_new_words(words)
        if not words:
            raise ValueError('ConceptWordTable needs at least one word in '
                             '`words` (the concept vocabulary).')
        self.weight = nn.Parameter(
            self._initial_rows(words, start=0), requires_grad=learnable)
        self._append_words(words)
        self.register_buffer(
            'words_digest',
            torch.tensor([_words_digest(self.words)], dtype=torch.int64))

    # ------------------------------------------------------------------
    # building the table
    def _check_new_words(self, words: Sequence[str]) -> List[str]:
        """Lower-case and validate words to add (no duplicates among
        them); raise a ValueError naming the offending ones."""
        out, bad, stop, dup, seen = [], [], [], [], set()
        for w in words:
            if not isinstance(w, str):
                bad.append(w)
                continue
            w = w.lower()
            if not _TOKEN.fullmatch(w):
                bad.append(w)
            elif w in self.stopwords:
                stop.append(w)
            elif w in seen:
                dup.append(w)
            else:
                seen.add(w)
                out.append(w)
        if bad:
            raise ValueError(
                f'ConceptWordTable words must be single words of letters '
                f'(phrases are split on non-letters): {bad[:8]} are not. '
                'Split multi-word concepts into their words.')
        if stop:
            raise ValueError(
                f'ConceptWordTable words {stop[:8]} are stopwords, which '
                'tokenize() drops: remove them from `words` or from '
                '`stopwords`.')
        if dup:
            raise ValueError(f'ConceptWordTable words repeat: {dup[:8]} '
                             '(case-insensitive); list each word once.')
        return out

    def _initial_rows(self, words: List[str], start: int) -> Tensor:
        """Initial (len(words), D) unit rows for words added at row
        ``start``: the vocabulary's embedding where it names the word,
        random otherwise (seeded by ``seed`` and ``start``). Logs the
        counts."""
        gen = torch.Generator().manual_seed(self.seed * 1000003 + start)
        rows = F.normalize(
            torch.randn(len(words), self.embed_dim, generator=gen), dim=-1)
        n_vocab = 0
        src = ''
        if self.init_vocabulary is not None:
            from ..utils.vocabularies import vocabulary_word_rows
            found, sources = vocabulary_word_rows(words, self.init_vocabulary,
                                                  self.init_part_words)
            for r, w in enumerate(words):
                if w in found:
                    rows[r] = found[w]
            if self.init_derange is not None and start == 0:
                _derange_rows(rows, [r for r, w in enumerate(words)
                                     if w in found], self.init_derange)
            n_vocab = len(found)
            n_part = sum(s.startswith('mean') for s in sources.values())
            vocabs = ' / '.join(repr(v) for v in self.init_vocabulary)
            src = (f'{n_vocab - n_part} from the shipped {vocabs} CLIP '
                   'ViT-B/32 vocabulary (class names), ' +
                   ('DERANGED among these words (the permuted control, '
                    f'seed {self.init_derange}), '
                    if self.init_derange is not None and start == 0
                    else '') +
                   (f'{n_part} as the mean of the rows of the multi-word '
                    'names they are part of, ' if n_part else ''))
        print_log(
            f'ConceptWordTable: {len(words)} word vectors initialised: '
            f'{src}{len(words) - n_vocab} at random (seed={self.seed}; '
            'random words carry no meaning until trained)',
            logger='current')
        return rows

    def _append_words(self, words: List[str]) -> None:
        for w in words:
            self.word_to_index[w] = len(self.words)
            self.words.append(w)

    @torch.no_grad()
    def add_words(self, words: Sequence[str]) -> List[int]:
        """Grow the table by new words (e.g. an inference vocabulary).

        New rows are initialised as in ``__init__``: from
        ``init_vocabulary`` where it names the word, **at random
        otherwise: such a word carries no meaning** (its phrases match
        regions by chance) until the table is trained on it. Words already
        in the table keep their rows (reported in the log). The parameter
        is replaced by a larger one: call this before building an
        optimizer, or at inference.

        Args:
            words (Sequence[str]): Words to add.

        Returns:
            list[int]: The row index of every given word, in order.
        """
        lowered = [w.lower() if isinstance(w, str) else w for w in words]
        known = [w for w in lowered if w in self.word_to_index]
        new = self._check_new_words(
            [w for w in lowered if w not in self.word_to_index])
        if known:
            print_log(
                f'ConceptWordTable.add_words: {len(known)} word(s) already '
                f'in the table keep their rows: {known[:8]}',
                logger='current')
        if new:
            rows = self._initial_rows(new, start=len(self.words)).to(
                self.weight)
            self.weight = nn.Parameter(
                torch.cat([self.weight.data, rows]),
                requires_grad=self.weight.requires_grad)
            self._append_words(new)
            self.words_digest.fill_(_words_digest(self.words))
        return [self.word_to_index[w] for w in lowered]

    # ------------------------------------------------------------------
    # encoding
    @property
    def num_words(self) -> int:
        """W, the number of rows."""
        return len(self.words)

    def tokenize(self,
                 phrase: str,
                 unknown: Optional[str] = None) -> List[int]:
        """Row indices of a phrase's words.

        Lower-cases, splits on non-letters and drops stopwords.

        Args:
            phrase (str): E.g. ``'A dog next to the sofa'``.
            unknown (str, optional): ``'raise'`` or ``'ignore'`` for words
                outside the table; defaults to the table's ``unknown``.

        Returns:
            list[int]: One index per kept word occurrence (possibly empty).

        Raises:
            ValueError: words outside the table (listed), unless ignored.
        """
        unknown = self.unknown if unknown is None else unknown
        if unknown not in _UNKNOWN:
            raise ValueError(f'unknown={unknown!r}; choose one of '
                             f'{_UNKNOWN}.')
        tokens = [
            t for t in _TOKEN.findall(phrase.lower())
            if t not in self.stopwords
        ]
        missing = [t for t in tokens if t not in self.word_to_index]
        if missing and unknown == 'raise':
            raise ValueError(
                f'phrase {phrase!r} has words outside the ConceptWordTable '
                f'({len(self.words)} words): {sorted(set(missing))[:8]}. '
                'Add them to `words` (or call add_words), or pass '
                "unknown='ignore' to drop them.")
        return [self.word_to_index[t] for t in tokens
                if t in self.word_to_index]

    def encode_phrases(self,
                       phrases: Sequence[str],
                       unknown: Optional[str] = None) -> Tensor:
        """Encode phrases as the normalised mean of their word vectors.

        Each row of the table is L2-normalised, the rows of a phrase's words
        (every occurrence, stopwords dropped) are averaged and the mean is
        L2-normalised again. Gradients reach exactly the rows of the words
        used.

        Args:
            phrases (Sequence[str]): P phrases.
            unknown (str, optional): See :meth:`tokenize`.

        Returns:
            Tensor: (P, D) L2-normalised phrase embeddings, in the table's
            dtype and device.

        Raises:
            ValueError: a phrase with no known word (all stopwords, or
                only ignored unknown words), or unknown words (see
                :meth:`tokenize`).
        """
        if isinstance(phrases, str):
            raise TypeError('encode_phrases takes a list of phrases, got '
                            f'the string {phrases[:40]!r}.')
        indices, segments, empty = [], [], []
        for p, phrase in enumerate(phrases):
            idx = self.tokenize(phrase, unknown)
            if not idx:
                empty.append(phrase)
            indices.extend(idx)
            segments.extend([p] * len(idx))
        if empty:
            raise ValueError(
                f'{len(empty)} phrase(s) have no word of the '
                f'ConceptWordTable after dropping stopwords'
                f'{" and unknown words" if unknown == "ignore" else ""}: '
                f'{empty[:5]}. Filter such phrases out before encoding '
                '(or add their words to the table).')
        device = self.weight.device
        idx = torch.tensor(indices, dtype=torch.long, device=device)
        seg = torch.tensor(segments, dtype=torch.long, device=device)
        vecs = F.normalize(self.weight[idx], dim=-1)
        sums = vecs.new_zeros(len(phrases), self.embed_dim).index_add(
            0, seg, vecs)
        # the mean is a positive multiple of the sum: same direction
        return F.normalize(sums, dim=-1)

    def forward(self, phrases: Sequence[str]) -> Tensor:
        """Alias of :meth:`encode_phrases`."""
        return self.encode_phrases(phrases)

    # ------------------------------------------------------------------
    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Refuse a checkpoint whose table was built for other words (the
        rows would be read under the wrong words): an error message, and
        this table keeps its rows."""
        w = state_dict.get(prefix + 'weight')
        digest = state_dict.get(prefix + 'words_digest')
        if w is not None and w.shape[0] != self.num_words:
            error_msgs.append(
                f'ConceptWordTable ({prefix or "root"}): the checkpoint '
                f'holds {w.shape[0]} word vectors, this table '
                f'{self.num_words}. Build it with the same `words` as the '
                'checkpoint (plus the words add_words() added, in order).')
            return
        if digest is not None and int(digest.flatten()[0]) != \
                int(self.words_digest[0]):
            error_msgs.append(
                f'ConceptWordTable ({prefix or "root"}): the checkpoint '
                'was built for another (or reordered) word list of the same '
                'size; its rows would be read under the wrong words. Build '
                'the table with the checkpoint\'s `words`, in order.')
            return
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self) -> str:
        return (f'num_words={self.num_words}, embed_dim={self.embed_dim}, '
                f'init_vocabulary={self.init_vocabulary!r}, '
                f'init_part_words={self.init_part_words}' +
                (f', init_derange={self.init_derange}'
                 if self.init_derange is not None else ''))


@MODELS.register_module()
class CLIPPhraseEncoder(BaseModule):
    """Phrases through open_clip's frozen text tower.

    Each phrase is put into ``template`` and encoded by the CLIP text
    encoder (float32, no gradient); the result is L2-normalised. The tower
    is **not** part of the module's state dict (checkpoints stay small): it
    is rebuilt from ``clip_model`` / ``clip_pretrained`` by
    :meth:`init_weights` (which the runner calls before training) or, when
    a checkpoint is loaded for inference, by the first
    :meth:`encode_phrases` call. It follows the module's device
    (``.to()``, ``.cuda()``). The visual tower is dropped after building.

    Args:
        clip_model (str): open_clip architecture. Defaults to
            ``'ViT-B-32'``.
        clip_pretrained (str, optional): Pretrained tag (``'openai'``) or a
            local checkpoint path; None gives random weights (tests only),
            drawn from ``seed`` so that two builds agree.
        template (str): Prompt with one ``{}`` for the phrase.
        cache_size (int): Phrases whose embeddings are kept in memory
            (least recently used dropped first); 0 disables the cache.
        seed (int): Seed of the random weights when
            ``clip_pretrained=None``.
        init_cfg (dict, optional): Unused, for the BaseModule API.
    """

    def __init__(self,
                 clip_model: str = 'ViT-B-32',
                 clip_pretrained: Optional[str] = 'openai',
                 template: str = 'a photo of a {}.',
                 cache_size: int = 10000,
                 seed: int = 0,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_clip_model_name(clip_model)
        check_clip_pretrained(clip_model, clip_pretrained)
        if not isinstance(template, str) or template.count('{}') != 1:
            raise ValueError(f'template={template!r} must be a string with '
                             'exactly one "{}" for the phrase.')
        if cache_size < 0:
            raise ValueError(f'cache_size={cache_size} must be >= 0.')
        self.clip_model_name = clip_model
        self.clip_pretrained = clip_pretrained
        self.template = template
        self.cache_size = int(cache_size)
        self.seed = int(seed)
        # outside the module tree on purpose: not in the state dict, not in
        # the optimizer; a 1-tuple so nn.Module does not register it
        self._tower: Tuple[Optional[nn.Module]] = (None, )
        self._cache: 'OrderedDict[str, Tensor]' = OrderedDict()
        # tracks the module's device through .to() / .cuda()
        self.register_buffer('_device_anchor', torch.zeros(0),
                             persistent=False)

    def init_weights(self) -> None:
        """Build the CLIP text tower (once)."""
        super().init_weights()
        self.build_tower()

    def build_tower(self) -> nn.Module:
        """Build (once) and return the frozen CLIP model, text tower only."""
        if self._tower[0] is not None:
            return self._tower[0]
        if self.clip_pretrained is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                model = build_clip_model(self.clip_model_name, None)
        else:
            model = build_clip_model(self.clip_model_name,
                                     self.clip_pretrained)
        if isinstance(getattr(model, 'visual', None), nn.Module):
            model.visual = None  # encode_text never uses it
        model.requires_grad_(False).eval().float()
        self._tower = (model, )
        print_log(
            f'CLIPPhraseEncoder: open_clip {self.clip_model_name} text '
            f'tower ({self.clip_pretrained or "random weights"}), frozen',
            logger='current')
        return model

    @property
    def clip_model(self) -> nn.Module:
        """The frozen open_clip model (built on first access)."""
        return self.build_tower()

    @property
    def embed_dim(self) -> int:
        """Width D of the text embeddings (from the architecture's config,
        without building the tower when open_clip knows it)."""
        import open_clip
        cfg = open_clip.get_model_config(self.clip_model_name)
        if cfg and 'embed_dim' in cfg:
            return int(cfg['embed_dim'])
        return int(self.encode_phrases(['object']).shape[-1])

    @torch.no_grad()
    def encode_phrases(self, phrases: Sequence[str]) -> Tensor:
        """Encode phrases with the frozen CLIP text tower.

        Args:
            phrases (Sequence[str]): P phrases.

        Returns:
            Tensor: (P, D) L2-normalised float32 embeddings on the module's
            device, without gradient.
        """
        import open_clip
        if isinstance(phrases, str):
            raise TypeError('encode_phrases takes a list of phrases, got '
                            f'the string {phrases[:40]!r}.')
        model = self.build_tower()
        device = self._device_anchor.device
        if next(model.parameters()).device != device:
            model.to(device)
        todo = list(OrderedDict.fromkeys(
            p for p in phrases if p not in self._cache))
        new: Dict[str, Tensor] = {}
        if todo:
            tokenizer = open_clip.get_tokenizer(self.clip_model_name)
            tokens = tokenizer([self.template.format(p) for p in todo])
            with torch.autocast(device.type, enabled=False):
                feats = F.normalize(
                    model.encode_text(tokens.to(device)).float(), dim=-1)
            new = dict(zip(todo, feats))
        out = [new[p] if p in new else self._cache[p] for p in phrases]
        if self.cache_size:
            for p in phrases:
                if p in self._cache:
                    self._cache.move_to_end(p)
            self._cache.update(new)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        if not out:
            return torch.zeros(0, self.embed_dim, device=device)
        return torch.stack([o.to(device) for o in out])

    def forward(self, phrases: Sequence[str]) -> Tensor:
        """Alias of :meth:`encode_phrases`."""
        return self.encode_phrases(phrases)

    def extra_repr(self) -> str:
        return (f'clip_model={self.clip_model_name!r}, '
                f'clip_pretrained={self.clip_pretrained!r}, '
                f'template={self.template!r}')
