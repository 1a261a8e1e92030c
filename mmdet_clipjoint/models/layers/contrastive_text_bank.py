# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Learnable class-specific text embeddings with per-class temperatures."""
import math
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import DATASETS, MODELS
from mmdet.utils import OptMultiConfig
from ..utils.clip_text import (DEFAULT_TEMPLATES, check_clip_model_name,
                               default_cache_dir, encode_class_names_cached,
                               load_embeddings_file)

__all__ = ['ContrastiveTextBank']

_SOURCES = ('vocabulary', 'clip', 'file', 'random')
_BACKGROUNDS = (None, 'learned', 'zero')


@MODELS.register_module()
class ContrastiveTextBank(BaseModule):
    """C class embeddings (+ optional background) in the CLIP joint space.

    Similarity of an L2-normalised region embedding ``e`` with class ``c`` is
    ``cos(e, t_c) / tau_c``: cosine divided by a class-specific temperature.
    The embeddings are initialised once, in :meth:`init_weights`, from real
    CLIP ViT-B/32 text embeddings shipped with the package
    (``init_source='vocabulary'``: COCO, LVIS, Objects365 and VOC names,
    offline), from the CLIP text encoder (``init_source='clip'``, open_clip
    with any prompts), from a file (``init_source='file'``) or randomly, and
    live in the state dict afterwards: building, testing, inference and
    resuming never need CLIP weights or a network.

    Args:
        class_names: The C foreground class names, in dataset order, or the
            name of a registered dataset type (``'CocoDataset'``,
            ``'VOCDataset'``) whose ``METAINFO['classes']`` to use. They are
            checked against the dataset's ``metainfo['classes']`` by
            :class:`ClipJointHook` when training / testing starts.
        prompt_aliases: Optional ``{class_name: text}`` used in the prompts
            instead of the raw name (e.g. ``{'pottedplant': 'potted
            plant'}``) and, with ``init_source='vocabulary'``, as the name
            to look up in the vocabulary: the alias wins over the class's
            own name, and an alias the vocabulary does not name is an
            error. Matching with the dataset still uses ``class_names``.
        embed_dim: Width D of the joint space (512 for ViT-B/32).
        init_source: ``'vocabulary'``, ``'clip'``, ``'file'`` or
            ``'random'``.
        vocabulary: For ``'vocabulary'``: ``'coco'``, ``'lvis'``,
            ``'objects365'`` or ``'voc'`` (see
            :mod:`mmdet_clipjoint.models.utils.vocabularies`; a class is
            looked up by its ``prompt_aliases`` entry when it has one, else
            by its name, each also in VOC's COCO spelling).
        clip_model: open_clip architecture name for ``'clip'``.
        clip_pretrained: open_clip pretrained tag (``'openai'``) or a local
            checkpoint path; None means random CLIP weights (tests only).
        templates: Prompt template(s) with one ``{}``; several are averaged.
        embeddings_file: ``.pt`` / ``.npy`` file for ``'file'``.
        background: None (no background entry), ``'learned'`` (a learnable
            background embedding with its own temperature, ViLD-style) or
            ``'zero'`` (a constant background logit of 0, Detic/RegionCLIP
            style).
        learnable: Train the class (and background) embeddings.
        temperature: Initial temperature tau (CLIP: 0.07).
        learn_temperature: Train the temperature(s).
        shared_temperature: One temperature shared by all entries (the
            cosine-classifier convention for long tails: no per-class logit
            scale) instead of the paper's class-specific ones.
        temperature_range: ``(min, max)`` clamp applied to tau in every
            forward pass, so that logits cannot blow up.
        cache_dir: Directory of the CLIP-encoding file cache; ``'default'``
            uses ``~/.cache/mmdet_clipjoint/text_embeddings``, None disables.
        drift_weight: Weight of the drift penalty
            ``mean_c (1 - cos(t_c, t_c^init))`` that keeps learnable class
            embeddings near their (CLIP) initialisation, so that new names
            embedded by CLIP still fit the trained branch
            (:func:`mmdet_clipjoint.apis.set_vocabulary`); the heads add it
            as ``loss_text_drift`` when > 0. 0 (default): off.
        centre: None (default) or a shipped vocabulary (``'coco'``,
            ``'lvis'``, ``'objects365'``): centre the CLIP class rows on the
            mean of that vocabulary's rows and renormalise them,
            ``normalize(t - mean)``. CLIP text sits in a narrow cone
            (pairwise cosines of COCO names 0.79-0.93, so at tau = 0.07
            neighbouring classes differ by about one logit); centring keeps
            the relative semantics and opens the cone. The mean is stored
            with the checkpoint (buffer ``text_centre``, zeros = off), and
            :meth:`set_classes` centres the rows of new names on it, so
            :func:`~mmdet_clipjoint.apis.set_vocabulary` stays in the
            space the bank was trained in. Needs CLIP rows (not
            ``init_source='random'``) of the shipped rows' width (512,
            ViT-B/32). Measured: docs/benchmark_semantic.md (arm
            ``clipjoint-centred``).
        temperature_power: 0 (default) or gamma > 0: class-frequency
            temperatures. When training starts from this initialisation
            (not from a checkpoint), :class:`TextBankInitHook` counts the
            training boxes n_c of each class (:meth:`set_class_counts`) and
            sets ``tau_c = temperature * (n_c / n_bar) ** gamma``, n_bar the
            geometric mean of the counts (a class without boxes counts as
            one), clamped to ``temperature_range``: a rare class gets a
            sharper temperature, so its logit is not drowned by a frequent
            neighbour whose row is nearly as close (the narrow cone of CLIP
            text), and the mean log-temperature stays ``temperature``.
            The temperatures then train as usual (``learn_temperature``).
            Needs per-class temperatures (not ``shared_temperature``).
            Measured: docs/benchmark_semantic.md (arm
            ``clipjoint-freq-temp``).
        init_cfg: Unused, for the BaseModule API.
    """

    def __init__(self,
                 class_names: Union[str, Sequence[str]],
                 prompt_aliases: Optional[Dict[str, str]] = None,
                 embed_dim: int = 512,
                 init_source: str = 'clip',
                 vocabulary: Optional[str] = None,
                 clip_model: str = 'ViT-B-32',
                 clip_pretrained: Optional[str] = 'openai',
                 templates: Sequence[str] = DEFAULT_TEMPLATES,
                 embeddings_file: Optional[str] = None,
                 background: Optional[str] = 'learned',
                 learnable: bool = True,
                 temperature: float = 0.07,
                 learn_temperature: bool = True,
                 shared_temperature: bool = False,
                 temperature_range: Tuple[float, float] = (0.01, 1.0),
                 cache_dir: Optional[str] = 'default',
                 drift_weight: float = 0.0,
                 centre: Optional[str] = None,
                 temperature_power: float = 0.0,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(class_names, str):
            if DATASETS.get(class_names) is None:
                raise ValueError(
                    f'class_names={class_names!r} is neither a list of class '
                    'names nor a registered dataset type (e.g. CocoDataset,'
                    ' VOCDataset).')
            class_names = DATASETS.get(class_names).METAINFO['classes']
        if not class_names:
            raise ValueError('ContrastiveTextBank needs `class_names`: a '
                             'list of the C class names in dataset order.')
        unknown = set(prompt_aliases or {}) - set(class_names)
        if unknown:
            raise ValueError(f'prompt_aliases names unknown classes '
                             f'{sorted(unknown)}.')
        if init_source not in _SOURCES:
            raise ValueError(f'init_source={init_source!r}; choose one of '
                             f'{_SOURCES}.')
        if background not in _BACKGROUNDS:
            raise ValueError(f'background={background!r}; choose one of '
                             f'{_BACKGROUNDS}.')
        t_min, t_max = temperature_range
        if not 0 < t_min <= temperature <= t_max:
            raise ValueError(
                f'temperature={temperature} must be > 0 and inside '
                f'temperature_range={tuple(temperature_range)} (both > 0).')
        if isinstance(drift_weight, bool) or not isinstance(
                drift_weight, (int, float)) or drift_weight < 0:
            raise ValueError(f'drift_weight={drift_weight!r} must be a '
                             'number >= 0 (0: no drift penalty).')
        if isinstance(temperature_power, bool) or not isinstance(
                temperature_power, (int, float)) or temperature_power < 0:
            raise ValueError(
                f'temperature_power={temperature_power!r} must be a number '
                '>= 0 (0: no class-frequency temperatures).')
        if temperature_power > 0 and shared_temperature:
            raise ValueError(
                f'temperature_power={temperature_power} sets one '
                'temperature per class from its frequency, but '
                'shared_temperature=True keeps a single one: drop one of '
                'the two.')
        if init_source == 'clip':
            check_clip_model_name(clip_model)
        if init_source == 'vocabulary':
            from ..utils.vocabularies import _canonical
            if not vocabulary:
                raise ValueError(
                    "init_source='vocabulary' needs `vocabulary`: one of "
                    "'coco', 'lvis', 'objects365', 'voc'.")
            _canonical(vocabulary)  # a clear error for an unknown name
        if centre is not None:
            from ..utils.vocabularies import _canonical
            if init_source == 'random':
                raise ValueError(
                    f'centre={centre!r} centres CLIP text rows, but '
                    "init_source='random' has none: drop `centre` or start "
                    "from CLIP text (init_source='vocabulary' / 'clip' / "
                    "'file').")
            try:
                _canonical(centre)
            except ValueError:
                raise ValueError(
                    f'centre={centre!r}: give a shipped vocabulary whose '
                    "mean row is the centre ('coco', 'lvis', 'objects365')"
                    ', or None (no centring).') from None
        if init_source == 'file' and not embeddings_file:
            raise ValueError("init_source='file' needs `embeddings_file` "
                             '(a .pt/.npy written by '
                             'tools/dump_text_embeddings.py).')
        self.class_names = tuple(class_names)
        self.prompt_aliases = dict(prompt_aliases or {})
        self.num_classes = len(self.class_names)
        self.embed_dim = embed_dim
        self.init_source = init_source
        self.clip_model = clip_model
        self.clip_pretrained = clip_pretrained
        self.templates = tuple([templates] if isinstance(templates, str) else
                               templates)
        self.embeddings_file = embeddings_file
        self.vocabulary = vocabulary
        self.background = background
        self.temperature_range = (float(t_min), float(t_max))
        self.cache_dir = default_cache_dir() if cache_dir == 'default' \
            else cache_dir
        #: the checkpoint that will overwrite the bank (expect_checkpoint)
        self._checkpoint_source: Optional[str] = None
        self.drift_weight = float(drift_weight)
        #: the vocabulary whose mean row centres the CLIP rows (None: off)
        self.centre = centre
        #: the trained class names once :meth:`set_classes` swapped them
        #: for an inference vocabulary (None: the bank is the trained one)
        self.swapped_from: Optional[Tuple[str, ...]] = None

        self.embeddings = nn.Parameter(
            F.normalize(torch.randn(self.num_classes, embed_dim), dim=-1),
            requires_grad=learnable)
        if background == 'learned':
            self.bg_embedding = nn.Parameter(
                F.normalize(torch.randn(1, embed_dim), dim=-1),
                requires_grad=learnable)
        else:
            self.register_parameter('bg_embedding', None)
        # the class embeddings as initialised (C, D), saved with the
        # checkpoint: how far training moved them is always measurable
        self.register_buffer('init_embeddings',
                             self.embeddings.detach().clone())
        # the centre subtracted from CLIP rows (D,), saved with the
        # checkpoint so that set_classes centres new names the same way;
        # zeros: no centring
        self.register_buffer('text_centre', torch.zeros(embed_dim))
        # training boxes per class (C,), filled when training starts
        # (set_class_counts) and saved with the checkpoint, for the
        # frequency temperatures and frequency-weighted fusion; zeros:
        # unknown
        self.register_buffer('class_counts', torch.zeros(self.num_classes))
        #: gamma of the class-frequency temperatures (0: off)
        self.temperature_power = float(temperature_power)
        #: the base temperature the frequency temperatures scale
        self.base_temperature = float(temperature)
        #: how the embeddings were initialised, in words
        self.init_description = 'random (init_source=random)'
        self.shared_temperature = bool(shared_temperature)
        n_scales = 1 if self.shared_temperature else \
            self.num_classes + (background == 'learned')
        # log(1 / tau): the CLIP parametrisation of a temperature
        self.log_scale = nn.Parameter(
            torch.full((n_scales, ), math.log(1.0 / temperature)),
            requires_grad=learn_temperature)

    @property
    def prompt_names(self) -> Tuple[str, ...]:
        """The texts put into the prompt templates, one per class."""
        return tuple(self.prompt_aliases.get(n, n) for n in self.class_names)

    @property
    def num_logits(self) -> int:
        """C, or C + 1 with a background entry."""
        return self.num_classes + (self.background is not None)

    @property
    def with_background(self) -> bool:
        return self.background is not None

    def temperatures(self) -> Tensor:
        """Clamped per-entry temperatures, shape (C,) or (C + 1,)."""
        return 1.0 / self.logit_scales()

    def logit_scales(self) -> Tensor:
        """Clamped ``1 / tau`` per entry, shape (C,) or (C + 1,)."""
        t_min, t_max = self.temperature_range
        scales = self.log_scale.clamp(math.log(1.0 / t_max),
                                      math.log(1.0 / t_min)).exp()
        if self.shared_temperature:
            n = self.num_classes + (self.bg_embedding is not None)
            scales = scales.expand(n)
        return scales

    def text_embeddings(self) -> Tensor:
        """Normalised class (+ learned background) embeddings, (K, D)."""
        emb = self.embeddings
        if self.bg_embedding is not None:
            emb = torch.cat([emb, self.bg_embedding], dim=0)
        return F.normalize(emb, dim=-1)

    def classifier_weight(self) -> Tensor:
        """Text embeddings pre-multiplied by their logit scales, (K', D).

        ``x @ classifier_weight().T`` equals :meth:`forward` for the
        non-constant entries; used to fold the bank into one matrix.
        """
        return self.text_embeddings() * self.logit_scales()[:, None]

    def forward(self, region_embeds: Tensor) -> Tensor:
        """Similarity logits of normalised region embeddings.

        Args:
            region_embeds (Tensor): L2-normalised embeddings, shape (N, D).

        Returns:
            Tensor: float32 logits ``cos / tau`` of shape (N, C), or
            (N, C + 1) with the background entry last. Computed in float32
            also under autocast / half-precision weights: ``1 / tau`` (~14)
            would amplify the rounding of a bf16 / fp16 cosine.
        """
        with torch.autocast(region_embeds.device.type, enabled=False):
            logits = region_embeds.float() @ \
                self.classifier_weight().float().t()
        if self.background == 'zero':
            logits = torch.cat([logits, logits.new_zeros(len(logits), 1)], 1)
        return logits

    def drift_loss(self) -> Tensor:
        """The drift penalty ``drift_weight * mean_c (1 - cos(t_c,
        t_c^init))`` (a scalar; 0 when the initialisation is unknown)."""
        if not self.init_embeddings_known:
            return self.embeddings.sum() * 0
        cos = F.cosine_similarity(self.embeddings.float(),
                                  self.init_embeddings.float(), dim=-1)
        return self.drift_weight * (1.0 - cos).mean()

    @property
    def is_swapped(self) -> bool:
        """Whether :meth:`set_classes` replaced the trained classes."""
        return self.swapped_from is not None

    @torch.no_grad()
    def set_classes(self, class_names: Sequence[str],
                    embeddings: Tensor) -> None:
        """Replace the class entries by new names (inference only).

        The background entry is kept. A class whose name was a trained
        class keeps its learned temperature; a new class gets the mean of
        the trained classes' temperatures (a per-class temperature of an
        unseen name cannot be known). The bank is frozen afterwards and
        :attr:`swapped_from` remembers the trained names; the heads refuse
        to train or to score in ``det`` / ``fuse`` mode with it.

        A bank trained on centred rows (``text_centre`` not zero) centres
        the new rows on the same mean first (:meth:`centred`), so the new
        names live in the space the bank was trained in.

        Args:
            class_names (Sequence[str]): The C' new class names.
            embeddings (Tensor): Their text embeddings, shape (C', D), as
                CLIP gives them (not centred).

        Raises:
            ValueError: a shape / name-count mismatch or non-finite values.
        """
        names = tuple(str(n) for n in class_names)
        if not names:
            raise ValueError('set_classes needs at least one class name.')
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f'class names repeat: {dup[:8]}.')
        emb = torch.as_tensor(embeddings).detach()
        if emb.shape != (len(names), self.embed_dim):
            raise ValueError(
                f'{len(names)} class names need embeddings of shape '
                f'({len(names)}, {self.embed_dim}), got {tuple(emb.shape)}.')
        if not torch.isfinite(emb).all():
            raise ValueError('the new text embeddings hold NaN / inf.')
        dev, dtype = self.embeddings.device, self.embeddings.dtype
        emb = self.centred(emb).to(dev, dtype)
        old = self.log_scale.detach().clone()
        if not self.shared_temperature:
            known = {n: i for i, n in enumerate(self.class_names)}
            mean = old[:self.num_classes].mean()
            cls = torch.stack([
                old[known[n]] if n in known else mean for n in names
            ])
            self.log_scale = nn.Parameter(
                torch.cat([cls, old[self.num_classes:]]),
                requires_grad=False)
        # a name that was a class keeps its training count, a new one has
        # none (unknown: 0)
        counts = dict(zip(self.class_names, self.class_counts))
        self.class_counts = torch.stack([
            counts.get(n, self.class_counts.new_zeros(())) for n in names
        ])
        if self.swapped_from is None:
            self.swapped_from = self.class_names
        self.class_names = names
        self.prompt_aliases = {}
        self.num_classes = len(names)
        self.embeddings = nn.Parameter(emb, requires_grad=False)
        self.init_embeddings = emb.clone()
        if self.bg_embedding is not None:
            self.bg_embedding.requires_grad_(False)
        self.log_scale.requires_grad_(False)

    @property
    def is_centred(self) -> bool:
        """Whether the class rows are centred (``text_centre`` not zero)."""
        return bool(self.text_centre.any())

    def centred(self, rows: Tensor) -> Tensor:
        """Text rows as this bank holds them: normalised and, when the bank
        is centred, shifted by ``text_centre`` and renormalised.

        Args:
            rows (Tensor): CLIP text embeddings, shape (N, D).

        Returns:
            Tensor: (N, D) float32, L2-normalised.
        """
        from ..utils.vocabularies import centre_rows
        return centre_rows(F.normalize(rows.float(), dim=-1),
                           self.text_centre.float().to(rows.device))

    def expect_checkpoint(self, source: str) -> None:
        """Announce that a checkpoint will give this bank its weights.

        Call it before the runner initialises the model (mmengine's
        ``before_run``): :meth:`init_weights` then leaves the embeddings as
        they are instead of encoding the class names with CLIP (or reading
        the embeddings file / shipped vocabulary), since the checkpoint
        overwrites them anyway -- so resuming or fine-tuning from a
        checkpoint with the same classes needs no CLIP weights and no
        network. :class:`~mmdet_clipjoint.engine.TextBankInitHook` calls it
        when the run resumes, or when ``load_from`` holds a bank that fits.

        Args:
            source (str): The checkpoint that will be loaded (path or URL).
        """
        self._checkpoint_source = source

    @torch.no_grad()
    def init_weights(self) -> None:
        """Initialise the class embeddings from CLIP / a file / randomly.

        Runs once, when the runner initialises the model before training.
        Skipped when a checkpoint that carries the bank will be loaded
        (:meth:`expect_checkpoint`).
        """
        super().init_weights()
        if self._checkpoint_source is not None:
            self.init_description = 'the loaded checkpoint'
            return
        if self.init_source == 'random':
            self.init_embeddings.copy_(self.embeddings)
            self.init_description = 'random (init_source=random)'
            print_log(
                f'ContrastiveTextBank: {self.num_classes} class embeddings '
                'initialised at random (init_source=random: no CLIP text '
                'prior)', logger='current')
            return
        if self.init_source == 'vocabulary':
            from ..utils.vocabularies import vocabulary_embeddings
            src = (f'the shipped CLIP ViT-B/32 text embeddings of the '
                   f'{self.vocabulary!r} vocabulary (Detic, prompt "a '
                   '{name}")')
            emb = vocabulary_embeddings(self.vocabulary, self.class_names,
                                        self.prompt_aliases)
        elif self.init_source == 'clip':
            src = f'open_clip {self.clip_model} ({self.clip_pretrained})'
            emb = encode_class_names_cached(self.prompt_names,
                                            self.clip_model,
                                            self.clip_pretrained,
                                            self.templates, self.cache_dir)
        else:
            src = osp.abspath(self.embeddings_file)
            emb = load_embeddings_file(self.embeddings_file,
                                       self.class_names)['embeddings']
        if emb.shape != self.embeddings.shape:
            raise ValueError(
                f'{src} gives text embeddings of shape {tuple(emb.shape)} '
                f'but the bank holds {tuple(self.embeddings.shape)} '
                '(num_classes, embed_dim): set `embed_dim` to the CLIP '
                f'model\'s width ({emb.shape[-1]}).')
        emb = F.normalize(emb.float(), dim=-1)
        if self.centre is not None:
            from ..utils.vocabularies import centre_rows, vocabulary_centre
            mean = vocabulary_centre(self.centre)
            if mean.shape[-1] != emb.shape[-1]:
                raise ValueError(
                    f'centre={self.centre!r} is the mean of 512-d CLIP '
                    f'ViT-B/32 rows, but {src} gives {emb.shape[-1]}-d '
                    'rows: drop `centre` for this text encoder.')
            before = _mean_pairwise_cosine(emb)
            self.text_centre.copy_(mean)
            emb = centre_rows(emb, mean)
            src += (f', centred on the mean of the {self.centre!r} rows '
                    f'(mean pairwise cosine {before:.2f} -> '
                    f'{_mean_pairwise_cosine(emb):.2f})')
        else:
            self.text_centre.zero_()
        self.embeddings.copy_(emb)
        self.init_embeddings.copy_(self.embeddings)
        self.init_description = src
        print_log(
            f'ContrastiveTextBank: {self.num_classes} class embeddings '
            f'initialised from {src}', logger='current')

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Checkpoints written before ``init_embeddings`` existed load
        without a missing-key warning; the stored initialisation is then
        unknown (NaN), which the text-bank analysis reports as such."""
        key = prefix + 'init_embeddings'
        if key not in state_dict and prefix + 'embeddings' in state_dict:
            state_dict[key] = torch.full_like(
                state_dict[prefix + 'embeddings'], float('nan'))
        key = prefix + 'class_counts'
        if key not in state_dict and prefix + 'embeddings' in state_dict:
            # written before the counts existed: unknown (zeros)
            state_dict[key] = torch.zeros(
                len(state_dict[prefix + 'embeddings']))
        key = prefix + 'text_centre'
        if key not in state_dict and prefix + 'embeddings' in state_dict:
            # written before centring existed: its rows are not centred
            state_dict[key] = torch.zeros_like(self.text_centre)
            if self.centre is not None:
                print_log(
                    f'ContrastiveTextBank: the checkpoint predates '
                    f'`centre`; its bank is not centred, so centre='
                    f'{self.centre!r} is not used (set_vocabulary will not '
                    'centre new names either).', logger='current', level=30)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    @property
    def class_counts_known(self) -> bool:
        """Whether :attr:`class_counts` holds the training set's counts
        (set when training started), not the zeros of 'unknown'."""
        return bool(self.class_counts.any())

    def frequency_temperatures(self, counts: Tensor) -> Tensor:
        """The class-frequency temperatures of ``temperature_power``.

        Args:
            counts (Tensor): training boxes per class, shape (C,).

        Returns:
            Tensor: ``temperature * (n_c / n_bar) ** gamma`` clamped to
            ``temperature_range``, shape (C,); n_bar is the geometric mean
            of the counts, a class without boxes counts as one.
        """
        n = counts.double().clamp(min=1)
        ratio = n / n.log().mean().exp()
        tau = self.base_temperature * ratio.pow(self.temperature_power)
        return tau.clamp(*self.temperature_range).float()

    @torch.no_grad()
    def set_class_counts(self, counts, init_temperatures: bool) -> None:
        """Store the training set's boxes per class (:attr:`class_counts`)
        and, with ``temperature_power`` > 0 and ``init_temperatures``, set
        the class temperatures from them (:meth:`frequency_temperatures`;
        the background entry keeps its own).

        Called by :class:`~mmdet_clipjoint.engine.TextBankInitHook` when
        training starts (not when it resumes); ``init_temperatures`` is
        False when the bank comes from a checkpoint (its temperatures are
        trained ones).

        Args:
            counts: boxes per class, shape (C,) (array or tensor).
            init_temperatures (bool): Whether the bank was initialised for
                this run (True) or loaded from a checkpoint (False).

        Raises:
            ValueError: a shape other than (C,), or negative / non-finite
                counts.
        """
        counts = torch.as_tensor(counts, dtype=torch.float32)
        if counts.shape != (self.num_classes, ):
            raise ValueError(
                f'class counts of shape {tuple(counts.shape)} for a bank of '
                f'{self.num_classes} classes: give one count per class.')
        if not torch.isfinite(counts).all() or (counts < 0).any():
            raise ValueError('class counts must be finite and >= 0.')
        self.class_counts.copy_(counts.to(self.class_counts.device))
        if self.temperature_power > 0 and init_temperatures:
            tau = self.frequency_temperatures(counts).to(self.log_scale)
            self.log_scale[:self.num_classes] = (1.0 / tau).log()
            print_log(
                f'ContrastiveTextBank: class-frequency temperatures '
                f'(temperature_power={self.temperature_power:g}): tau '
                f'{float(tau.min()):.3f} (rarest) .. '
                f'{float(tau.max()):.3f} (most frequent), from '
                f'{int(counts.min())} .. {int(counts.max())} training boxes '
                'per class', logger='current')

    @property
    def init_embeddings_known(self) -> bool:
        """Whether ``init_embeddings`` holds the initialisation (not the
        NaN of a checkpoint that predates it)."""
        return bool(torch.isfinite(self.init_embeddings).all())

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, embed_dim={self.embed_dim}'
                f', init_source={self.init_source!r}, '
                f'background={self.background!r}' +
                (f', centre={self.centre!r}' if self.centre else '') +
                (f', temperature_power={self.temperature_power:g}'
                 if self.temperature_power else ''))


def _mean_pairwise_cosine(rows: Tensor) -> float:
    """Mean cosine over the pairs of distinct rows of (C, D) normalised
    rows (nan for C < 2)."""
    n = len(rows)
    if n < 2:
        return float('nan')
    sim = rows @ rows.t()
    return float((sim.sum() - sim.diagonal().sum()) / (n * (n - 1)))
