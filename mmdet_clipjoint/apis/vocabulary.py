# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""New class names at inference: swap the text bank of a ClipJoint detector.

A ClipJoint detector scores classes by comparing region embeddings with the
text bank; in ``clip`` mode the detector itself only says *whether* an
object is there (``max_c p_det``). :func:`set_vocabulary` replaces the
bank's class embeddings by those of any other names, so the same weights
answer with another label space::

    from mmdet.apis import DetInferencer
    from mmdet_clipjoint.apis import set_vocabulary

    inferencer = DetInferencer(model=CONFIG, weights=CKPT, device='cpu')
    set_vocabulary(inferencer, 'lvis')              # shipped CLIP vocabulary
    set_vocabulary(inferencer, ['zebra', 'kite'])   # names (shipped / CLIP)
    set_vocabulary(inferencer, 'names.txt', 'emb.pt')  # names + file
    inferencer('demo.jpg', out_dir='out')

The swap is for inference only: the heads then score in ``clip`` mode and
refuse to train.
"""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from torch import Tensor

__all__ = [
    'set_vocabulary', 'text_embeddings_for', 'read_class_names',
    'NoTextEmbeddings'
]

NamesLike = Union[str, Sequence[str]]


class NoTextEmbeddings(ValueError, RuntimeError):
    """Class names that no source could give embeddings: in no shipped
    vocabulary, and no CLIP weights to encode them (a ``ValueError``: the
    input lacks something; also a ``RuntimeError``, what this case raised
    before)."""


def read_class_names(path: str) -> Tuple[str, ...]:
    """Class names from a text file: one per line, ``#`` starts a comment,
    blank lines skipped.

    Raises:
        FileNotFoundError / ValueError: a missing file, no names or repeats.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'class-name file {path!r} does not exist.')
    with open(path, encoding='utf-8') as f:
        names = [ln.split('#', 1)[0].strip() for ln in f]
    names = [n for n in names if n]
    if not names:
        raise ValueError(f'{path!r} holds no class names (one per line).')
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'{path!r} repeats class names: {dup[:8]}.')
    return tuple(names)


def _resolve_names(class_names: NamesLike) -> Tuple[Tuple[str, ...],
                                                   Optional[str]]:
    """``(names, shipped vocabulary name or None)``."""
    from ..models.utils.vocabularies import _canonical, vocabulary_names
    if isinstance(class_names, str):
        if osp.isfile(class_names):
            return read_class_names(class_names), None
        try:
            key = _canonical(class_names)
        except ValueError:
            raise ValueError(
                f'{class_names!r} is neither a shipped vocabulary (coco, '
                'lvis, objects365, voc) nor an existing class-name file '
                '(one name per line); pass a list of names otherwise.'
            ) from None
        if class_names.lower() == 'voc':
            from mmdet.datasets import VOCDataset
            return tuple(VOCDataset.METAINFO['classes']), key
        return vocabulary_names(key), key
    names = tuple(str(n) for n in class_names)
    if not names:
        raise ValueError('set_vocabulary needs at least one class name.')
    return names, None


def _find_bank(model: torch.nn.Module):
    from ..models.layers.score_fusion import ScoreModeMixin
    heads = [(n, m) for n, m in model.named_modules()
             if isinstance(m, ScoreModeMixin)]
    if not heads:
        raise ValueError(
            'set_vocabulary needs a ClipJoint detector (a head with a text '
            f'bank); this {type(model).__name__} has none. Train one with a '
            'configs/clipjoint_* config.')
    return heads


def text_embeddings_for(names: Sequence[str],
                        source: str = 'auto',
                        bank: Optional[torch.nn.Module] = None,
                        vocabulary: Optional[str] = None,
                        clip_model: str = 'ViT-B-32',
                        clip_pretrained: Optional[str] = 'openai',
                        templates: Sequence[str] = ('a photo of a {}.', )
                        ) -> Tuple[Tensor, str]:
    """Text embeddings of class names, from the best available source.

    Args:
        names (Sequence[str]): The C' names.
        source (str): ``'auto'`` (the bank's own phrase encoder when it has
            one, else a shipped vocabulary that names every class, else
            open_clip), ``'phrase'``, ``'vocabulary'`` or ``'clip'``.
        bank (nn.Module, optional): The text bank (for ``'phrase'``).
        vocabulary (str, optional): The shipped vocabulary to use with
            ``'vocabulary'`` (default: the first that names every class).
        clip_model, clip_pretrained, templates: open_clip encoding (live;
            needs the weights: a tag to download or a local file).

    Returns:
        tuple: embeddings (C', D) float32 and the source, in words.
    """
    from ..models.utils.clip_text import encode_class_names
    from ..models.utils.vocabularies import (VOCABULARIES,
                                             vocabulary_embeddings)
    sources = ('auto', 'phrase', 'vocabulary', 'clip')
    if source not in sources:
        raise ValueError(f'source={source!r}; choose one of {sources}.')
    if source in ('auto', 'phrase') and bank is not None and \
            hasattr(bank, 'encode_names'):
        with torch.no_grad():
            return bank.encode_names(names).float().cpu(), \
                "the model's own phrase encoder"
    if source == 'phrase':
        raise ValueError("source='phrase' needs a text bank with a phrase "
                         'encoder (PhraseTextBank); this one has none.')
    if source in ('auto', 'vocabulary'):
        tried = [vocabulary] if vocabulary else list(VOCABULARIES)
        errors = []
        for voc in tried:
            try:
                return vocabulary_embeddings(voc, names), \
                    f'the shipped CLIP ViT-B/32 {voc!r} vocabulary'
            except ValueError as e:
                errors.append(str(e))
        if source == 'vocabulary':
            raise ValueError(errors[-1])
    try:
        emb = encode_class_names(names, clip_model, clip_pretrained,
                                 templates)
    except Exception as e:
        # one clear message instead of the hub client's long traceback
        from ..models.utils.vocabularies import names_in_no_vocabulary
        first_line = (str(e).splitlines() or [''])[0]
        cause = f'{type(e).__name__}: {first_line}'
        unknown = names_in_no_vocabulary(names) if source == 'auto' else ()
        what = (f'{len(unknown)} of the {len(names)} class names are in no '
                'shipped vocabulary (coco, lvis, objects365, voc): '
                f'{list(unknown[:10])}{" ..." if len(unknown) > 10 else ""}'
                ', and ' if unknown else f'{len(names)} class names: ')
        raise NoTextEmbeddings(
            f'{what}no CLIP weights could be loaded to encode them '
            f'(open_clip {clip_model}, clip_pretrained={clip_pretrained!r}'
            f': {cause}). Give their text embeddings in one of three ways: '
            '(1) embeddings=<tensor (C\', D) or .pt / .npy file>; (2) a '
            'names file with a dumped embeddings file: set_vocabulary('
            "model, 'names.txt', 'emb.pt'), emb.pt made once with `python "
            'tools/dump_text_embeddings.py names.txt --out emb.pt` on a '
            'machine with CLIP weights; (3) clip_pretrained=PATH, a local '
            'open_clip checkpoint file (e.g. open_clip_pytorch_model.bin).'
        ) from None
    return emb.float(), f'open_clip {clip_model} ({clip_pretrained})'


def set_vocabulary(model,
                   class_names: NamesLike,
                   embeddings: Union[None, str, Tensor] = None,
                   source: str = 'auto',
                   vocabulary: Optional[str] = None,
                   clip_model: str = 'ViT-B-32',
                   clip_pretrained: Optional[str] = 'openai',
                   templates: Sequence[str] = ('a photo of a {}.', ),
                   verbose: bool = True) -> Tuple[str, ...]:
    """Give a trained ClipJoint detector another set of class names.

    Every ClipJoint head's text bank gets the new names' embeddings (the
    background entry and the trained temperatures are kept; see
    :meth:`ContrastiveTextBank.set_classes`), scores switch to ``clip`` (the
    detector's ``max_c p_det`` times the bank's softmax over the new
    names; Faster R-CNN uses the regression of its most probable training
    class), and ``dataset_meta`` (``classes``, a ``palette`` that fits)
    changes so that visualisation and :class:`~mmdet.apis.DetInferencer`
    show the new names.

    Args:
        model: A detector (``init_detector``) or a ``DetInferencer``.
        class_names: A shipped vocabulary (``'coco'``, ``'lvis'``,
            ``'objects365'``, ``'voc'``), a text file with one name per
            line, or a sequence of names.
        embeddings: None (find them: :func:`text_embeddings_for`), a
            tensor (C', D), or a ``.pt`` / ``.npy`` file (its class names,
            when it has them, must match).
        source, vocabulary, clip_model, clip_pretrained, templates: How to
            find embeddings when none are given (:func:`text_embeddings_for`).
        verbose: Log what was done.

    Returns:
        tuple[str]: The new class names.
    """
    from ..models.utils.clip_text import load_embeddings_file
    from ..models.utils.vocabularies import vocabulary_embeddings
    detector = getattr(model, 'model', model)
    heads = _find_bank(detector)
    names, shipped = _resolve_names(class_names)
    bank = heads[0][1].text_bank
    if isinstance(embeddings, str):
        emb = load_embeddings_file(embeddings, names)['embeddings']
        src = osp.abspath(embeddings)
    elif embeddings is not None:
        emb = torch.as_tensor(embeddings)
        src = 'the given tensor'
    elif shipped is not None and source in ('auto', 'vocabulary') and \
            not hasattr(bank, 'encode_names'):
        emb = vocabulary_embeddings(shipped, names)
        src = f'the shipped CLIP ViT-B/32 {shipped!r} vocabulary'
    else:
        emb, src = text_embeddings_for(names, source, bank, vocabulary,
                                       clip_model, clip_pretrained,
                                       templates)
    if emb.dim() != 2:
        raise ValueError(f'{len(names)} class names need embeddings of '
                         f'shape ({len(names)}, D), got {tuple(emb.shape)}.')
    for _, head in heads:
        head.text_bank.set_classes(names, emb)
        head.score_mode = 'clip'
    meta = dict(getattr(detector, 'dataset_meta', None) or {})
    meta.update(classes=names, palette='random')
    detector.dataset_meta = meta
    vis = getattr(model, 'visualizer', None)
    if vis is not None:
        vis.dataset_meta = meta
    if verbose:
        from .thresholds import default_score_thr
        print_log(
            f'set_vocabulary: {len(names)} class names from {src} in '
            f'{len(heads)} head(s) ({", ".join(n for n, _ in heads)}); '
            "score_mode='clip'; draw with pred_score_thr="
            f"{default_score_thr('clip', len(names))} (the softmax over "
            f'{len(names)} names spreads the scores; mmdet\'s default 0.3 '
            'may hide every box: mmdet_clipjoint.apis.default_score_thr)',
            logger='current')
    return names
