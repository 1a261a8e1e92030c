# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Encode class names with the CLIP text encoder into an embeddings file that
a text bank loads with ``init_source='file'`` (the command line is
``tools/dump_text_embeddings.py``)."""
import datetime
import hashlib
import json
import os.path as osp
from typing import Callable, Dict, Optional, Sequence

from .clip_text import (build_clip_model, encode_class_names,
                        load_embeddings_file, save_embeddings_file)

__all__ = ['clip_model_width', 'dump_text_embeddings']


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def clip_model_width(model_name: str) -> Optional[int]:
    import open_clip
    cfg = open_clip.get_model_config(model_name.replace('/', '-'))
    return cfg.get('embed_dim') if cfg else None


def _encode_with_progress(encode, prompt_names, model_name, pretrained,
                          templates, clip, batch_size: int, progress: bool):
    """Encode the classes in chunks of about ``batch_size`` prompts, with a
    tqdm bar over the classes."""
    import torch
    from tqdm import tqdm
    step = max(1, batch_size // len(templates))
    parts = []
    with tqdm(total=len(prompt_names), unit='class', desc='encoding',
              disable=not progress) as bar:
        for s in range(0, len(prompt_names), step):
            chunk = prompt_names[s:s + step]
            parts.append(encode(chunk, model_name, pretrained, templates,
                                model=clip, batch_size=batch_size))
            bar.update(len(chunk))
    return torch.cat(parts)


def dump_text_embeddings(out: str,
                         class_names: Sequence[str],
                         prompt_names: Sequence[str],
                         model_name: str,
                         pretrained: Optional[str],
                         templates: Sequence[str],
                         source: str,
                         embed_dim: Optional[int] = None,
                         batch_size: int = 256,
                         progress: bool = True,
                         log: Callable[[str], None] = print) -> Dict:
    """Encode ``prompt_names`` and write them (with their metadata) to
    ``out``, then read the file back exactly as the text bank will.

    Args:
        out (str): ``.pt`` (embeddings + metadata) or ``.npy`` (array; the
            metadata goes to a ``.json`` next to it).
        class_names (Sequence[str]): The bank's class names (C,).
        prompt_names (Sequence[str]): The names put into the templates (C,),
            aliases applied.
        model_name (str): open_clip architecture.
        pretrained (str, optional): Pretrained tag or checkpoint file; None:
            random weights (tests only).
        templates (Sequence[str]): Prompt templates, averaged per class.
        source (str): Where the names came from (recorded).
        embed_dim (int, optional): The bank's width, checked.
        batch_size (int): Prompts per forward.
        progress (bool): A progress bar over the classes.
        log (Callable): Where the progress lines go.

    Returns:
        dict: The metadata written, ``class_names``, ``out`` and
        ``embeddings`` (C, D).
    """
    import open_clip

    import mmdet_clipjoint
    log(f'Encoding {len(class_names)} classes x {len(templates)} '
        f'template(s) with open_clip {model_name} ({pretrained})')
    clip = build_clip_model(model_name, pretrained)
    emb = _encode_with_progress(encode_class_names, list(prompt_names),
                                model_name, pretrained, list(templates), clip,
                                batch_size, progress)
    if embed_dim is not None and emb.shape[1] != embed_dim:
        raise ValueError(
            f'open_clip {model_name!r} gave {emb.shape[1]}-d embeddings but '
            f'the text bank has embed_dim={embed_dim}.')
    is_file = pretrained is not None and osp.isfile(pretrained)
    meta = dict(
        model=model_name,
        pretrained=osp.abspath(pretrained) if is_file else str(pretrained),
        templates=list(templates),
        prompt_names=list(prompt_names),
        embed_dim=int(emb.shape[1]),
        source=osp.abspath(source),
        created=datetime.datetime.now().isoformat(timespec='seconds'),
        open_clip_version=open_clip.__version__,
        mmdet_clipjoint_version=mmdet_clipjoint.__version__)
    if is_file:
        meta['pretrained_sha256'] = _sha256(pretrained)
    save_embeddings_file(out, emb, class_names, **meta)
    if out.endswith('.npy'):
        side = osp.splitext(out)[0] + '.json'
        with open(side, 'w') as f:
            json.dump(dict(meta, class_names=list(class_names)), f, indent=2)
        log(f'metadata (not read by the text bank): {side}')
    # read it back exactly as the text bank will
    load_embeddings_file(out, None if out.endswith('.npy') else class_names,
                         int(emb.shape[1]))
    return dict(meta, class_names=list(class_names), out=osp.abspath(out),
                embeddings=emb)
