# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Real CLIP text embeddings of dataset vocabularies, shipped with the package.

OpenAI CLIP ViT-B/32 text embeddings of the COCO (80), LVIS v1 (1203) and
Objects365 (365) class names (from Detic, Apache-2.0; provenance, checksums
and attribution in ``mmdet_clipjoint/assets/clip_text_embeddings/
PROVENANCE.md``), and VOC's 20 classes as rows of the COCO file. They let a
text bank start from CLIP text on a machine without network access or CLIP
weights (``ContrastiveTextBank(init_source='vocabulary',
vocabulary='coco')``).
"""
import hashlib
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'VOCABULARIES', 'VOCABULARY_DIR', 'vocabulary_names', 'load_vocabulary',
    'vocabulary_embeddings', 'names_in_no_vocabulary', 'vocabulary_word_rows',
    'vocabulary_centre', 'centre_rows'
]

VOCABULARY_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'assets',
    'clip_text_embeddings')

#: name -> (file, mmdet dataset type whose METAINFO gives the row order,
#: sha256 of the file)
VOCABULARIES: Dict[str, Tuple[str, str, str]] = {
    'coco': ('coco_clip_a+cname.npy', 'CocoDataset',
             '3186340bfc1eb67c2131a451cbf9f623'
             'fa236b0ef5a2441b2d9a93ba46051f85'),
    'lvis': ('lvis_v1_clip_a+cname.npy', 'LVISV1Dataset',
             '16059f1fe5f7d857273d16a1b7c6d614'
             '1a88d133e99a107be5065f42311da0f8'),
    'objects365': ('o365_clip_a+cnamefix.npy', 'Objects365V2Dataset',
                   '389a43e5c38eb22ca1b46a7328e57e7c'
                   'd281b00c64250016be80d3c771711c13'),
}
#: other names of a vocabulary
_ALIASES = {'voc': 'coco', 'o365': 'objects365', 'lvis_v1': 'lvis'}
#: VOC class name (or its usual prompt text) -> its COCO name (the others
#: are spelled alike)
VOC_TO_COCO = {
    'aeroplane': 'airplane',
    'motorbike': 'motorcycle',
    'sofa': 'couch',
    'tvmonitor': 'tv',
    'tv monitor': 'tv',
    'diningtable': 'dining table',
    'pottedplant': 'potted plant',
}
_CACHE: Dict[str, Tuple[Tuple[str, ...], Tensor]] = {}


def _canonical(name: str) -> str:
    key = name.lower()
    key = _ALIASES.get(key, key)
    if key not in VOCABULARIES:
        raise ValueError(
            f'unknown vocabulary {name!r}: the package ships '
            f'{sorted(VOCABULARIES) + sorted(_ALIASES)}; for other class '
            "names use init_source='clip' (open_clip) or an embeddings file "
            '(tools/dump_text_embeddings.py).')
    return key


def vocabulary_names(name: str) -> Tuple[str, ...]:
    """The class names of a shipped vocabulary, in row order."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    return tuple(DATASETS.get(VOCABULARIES[_canonical(name)][1])
                 .METAINFO['classes'])


def load_vocabulary(name: str) -> Tuple[Tuple[str, ...], Tensor]:
    """A shipped vocabulary: its class names and embeddings.

    The file is checked (sha256, shape, finite values) on the first load.

    Args:
        name (str): ``coco``, ``lvis`` or ``objects365`` (``voc`` is
            served by ``coco``).

    Returns:
        tuple: class names (C,) and L2-normalised float32 embeddings
        (C, 512), row i for name i.

    Raises:
        ValueError: an unknown name, or a damaged file (reinstall the
            package).
    """
    key = _canonical(name)
    if key in _CACHE:
        return _CACHE[key]
    fname, _, sha = VOCABULARIES[key]
    path = osp.join(VOCABULARY_DIR, fname)
    if not osp.isfile(path):
        raise ValueError(f'the shipped vocabulary file {path} is missing: '
                         'reinstall mmdet_clipjoint.')
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != sha:
        raise ValueError(f'{path} is damaged (sha256 {digest[:12]}..., '
                         f'expected {sha[:12]}...): reinstall '
                         'mmdet_clipjoint.')
    names = vocabulary_names(key)
    arr = np.load(path, allow_pickle=False)
    if arr.shape != (len(names), 512) or not np.isfinite(arr).all():
        raise ValueError(f'{path} holds an array of shape {arr.shape} '
                         f'(expected ({len(names)}, 512), finite): '
                         'reinstall mmdet_clipjoint.')
    emb = F.normalize(torch.from_numpy(arr.astype(np.float32)), dim=-1)
    _CACHE[key] = (names, emb)
    return names, emb


def vocabulary_embeddings(
        name: str,
        class_names: Sequence[str],
        aliases: Optional[Dict[str, str]] = None) -> Tensor:
    """Rows of a shipped vocabulary for ``class_names``, in their order.

    A class is looked up by its entry in ``aliases`` when it has one (e.g. a
    bank's ``prompt_aliases``: ``{'pottedplant': 'potted plant'}``): the
    alias wins over the class's own name, so ``{'car': 'sedan'}`` never
    silently gives the ``car`` row. A class without an alias is looked up
    by its name. Either is matched as written, with ``_`` read as a space,
    or through VOC's spellings of COCO names (``tvmonitor`` = ``tv``).

    Args:
        name (str): The vocabulary (:func:`load_vocabulary`).
        class_names (Sequence[str]): The C classes wanted.
        aliases (dict, optional): ``{class name: name in the vocabulary}``.

    Returns:
        Tensor: (C, 512) L2-normalised float32 embeddings.

    Raises:
        ValueError: classes the vocabulary does not name, or aliases it
            does not name (listed).
    """
    names, emb = load_vocabulary(name)
    index = {n: i for i, n in enumerate(names)}
    index.update({n.replace('_', ' '): i for i, n in enumerate(names)})
    aliases = dict(aliases or {})
    rows, missing, bad_aliases = [], [], []
    for c in class_names:
        key = aliases.get(c, c)
        for k in (key, VOC_TO_COCO.get(key)):
            if k is not None and k in index:
                rows.append(index[k])
                break
        else:
            if c in aliases:
                bad_aliases.append((c, key))
            else:
                missing.append(c)
    if bad_aliases:
        raise ValueError(
            f'prompt_aliases map {len(bad_aliases)} class(es) to names the '
            f'shipped {_canonical(name)!r} vocabulary does not have (class, '
            f'alias): {bad_aliases[:8]}. An alias replaces the class\'s own '
            'name in the look-up (it is what you wrote), so it must be a '
            'name of the vocabulary: change or drop the alias, or use '
            "init_source='clip' (open_clip; the alias is the prompt text) "
            "or 'file' (tools/dump_text_embeddings.py --alias).")
    if missing:
        raise ValueError(
            f'the shipped {_canonical(name)!r} vocabulary does not name '
            f'{len(missing)} of the {len(class_names)} classes '
            f'({missing[:8]}{" ..." if len(missing) > 8 else ""}): map them '
            'with prompt_aliases to names it has, or use '
            "init_source='clip' (open_clip) / 'file' "
            '(tools/dump_text_embeddings.py) for these classes.')
    return emb[rows].clone()


def vocabulary_centre(name: str) -> Tensor:
    """The mean of a shipped vocabulary's rows, (512,) float32 (not
    normalised): the centre of the narrow cone CLIP text occupies
    (pairwise cosines of the 80 COCO names lie around 0.8-0.93)."""
    return load_vocabulary(name)[1].mean(0).clone()


def centre_rows(rows: Tensor, centre: Tensor) -> Tensor:
    """Rows shifted by a centre and renormalised: ``normalize(t - centre)``.

    Keeps the rows' relative semantics and opens the cone (the mean
    pairwise cosine of the COCO names drops from about 0.8 to about 0). A
    centre of zeros only normalises the rows.

    Args:
        rows (Tensor): L2-normalised text embeddings, shape (C, D).
        centre (Tensor): The centre, shape (D,) (e.g.
            :func:`vocabulary_centre`).

    Returns:
        Tensor: (C, D) float32, L2-normalised.
    """
    rows = rows.float()
    if rows.shape[-1] != centre.shape[-1]:
        raise ValueError(f'rows of {rows.shape[-1]} dims cannot be centred '
                         f'on a centre of {centre.shape[-1]} dims: the '
                         'centre must come from the same text encoder.')
    if not bool(centre.any()):
        return F.normalize(rows, dim=-1)
    return F.normalize(rows - centre.to(rows), dim=-1)


def names_in_no_vocabulary(class_names: Sequence[str]) -> Tuple[str, ...]:
    """The names of ``class_names`` that no shipped vocabulary has (looked
    up as :func:`vocabulary_embeddings` does, without aliases), in order."""
    known = set()
    for voc in VOCABULARIES:
        names = load_vocabulary(voc)[0]
        known.update(names)
        known.update(n.replace('_', ' ') for n in names)
    return tuple(c for c in class_names
                 if c not in known and VOC_TO_COCO.get(c) not in known)


def _name_words(name: str) -> Tuple[str, ...]:
    """The words of a class name, lower-cased, without a parenthesised
    qualifier (LVIS ``bow_(weapon)`` -> ``('bow', )``, ``traffic_light`` ->
    ``('traffic', 'light')``)."""
    import re
    text = re.sub(r'\(.*?\)', ' ', name.lower().replace('_', ' '))
    return tuple(re.findall(r'[^\W\d_]+', text))


def vocabulary_word_rows(
        words: Sequence[str],
        vocabularies: Sequence[str],
        part_words: bool = False) -> Tuple[Dict[str, Tensor], Dict[str, str]]:
    """CLIP starts of concept words from the shipped vocabularies.

    A word that *is* a class name of one of ``vocabularies`` (compared
    case-insensitively, ``'_'`` read as a space; the first vocabulary that
    has it wins) gets that name's CLIP text embedding. With ``part_words``,
    a word that is no name but a word of multi-word names (``'teddy'`` of
    ``teddy_bear``, ``'light'`` of ``traffic_light`` and ``light_bulb``)
    gets the L2-normalised mean of those names' embeddings: an estimate of
    the word from the contexts CLIP saw it in, not the CLIP embedding of
    the word itself (no text encoder offline).

    Args:
        words (Sequence[str]): Lower-case single words.
        vocabularies (Sequence[str]): Shipped vocabularies in order of
            preference, e.g. ``('lvis', 'coco')``.
        part_words (bool): Also start the words of multi-word names.

    Returns:
        tuple[dict, dict]: ``{word: (512,) unit row}`` for the words found,
        and ``{word: where from}`` (``'lvis name'`` or ``'mean of 3 lvis /
        coco names'``).
    """
    rows: Dict[str, Tensor] = {}
    sources: Dict[str, str] = {}
    wanted = set(words)
    parts: Dict[str, list] = {}
    for vocab in vocabularies:
        names, emb = load_vocabulary(vocab)
        for i, name in enumerate(names):
            key = name.lower()
            for k in {key, key.replace('_', ' ')}:
                if k in wanted and k not in rows:
                    rows[k] = emb[i]
                    sources[k] = f'{_canonical(vocab)} name'
            toks = _name_words(name)
            if part_words and len(toks) > 1:
                for t in set(toks) & wanted:
                    parts.setdefault(t, []).append((_canonical(vocab), i))
    for w, hits in parts.items():
        if w in rows:
            continue
        vecs = torch.stack([load_vocabulary(v)[1][i] for v, i in hits])
        rows[w] = F.normalize(vecs.mean(0), dim=-1)
        where = ' / '.join(dict.fromkeys(v for v, _ in hits))
        sources[w] = f'mean of {len(hits)} {where} names'
    return rows, sources
