# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""CLIP text encoding of class names, and the embeddings file format.

Everything here runs once per experiment (from
:meth:`ContrastiveTextBank.init_weights` or ``tools/dump_text_embeddings.py``),
never in a module's ``__init__`` and never per iteration.

Embeddings file format:

* ``.pt``: a dict ``{'embeddings': Tensor (C, D), 'class_names': [str] * C,
  'model': str, 'pretrained': str, 'templates': [str]}`` (the metadata keys
  are optional but recommended: the class names are checked on load);
* ``.npy``: a float array of shape ``(C, D)`` (no names: only the shape is
  checked).
"""
import contextlib
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'DEFAULT_TEMPLATES', 'ENSEMBLE_TEMPLATES', 'OFFLINE_HINT',
    'check_clip_model_name', 'check_clip_pretrained', 'build_clip_model',
    'encode_class_names', 'encode_class_names_cached', 'cache_key',
    'load_embeddings_file', 'save_embeddings_file', 'default_cache_dir',
    'ClipWeightsUnavailable', 'weights_host_reachable'
]

DEFAULT_TEMPLATES = ('a photo of a {}.', )
#: A small prompt ensemble in the style of CLIP's / ViLD's.
ENSEMBLE_TEMPLATES = (
    'a photo of a {}.',
    'a photo of the {}.',
    'a photo of a small {}.',
    'a photo of a large {}.',
    'a close-up photo of a {}.',
    'a cropped photo of a {}.',
    'a bright photo of a {}.',
    'a blurry photo of a {}.',
    'there is a {} in the scene.',
    'an image of a {}.',
)

OFFLINE_HINT = (
    'Without network access, either (a) download the weights once on a '
    'machine that has it and point `clip_pretrained` at the local file '
    '(e.g. clip_pretrained=\'/path/to/open_clip_pytorch_model.bin\'), or '
    '(b) on such a machine, dump the class embeddings with `python '
    'tools/dump_text_embeddings.py <config> --out emb.pt`, copy emb.pt here '
    'and set `init_source=\'file\', embeddings_file=\'emb.pt\'` on the '
    'text bank.')
#: the hosts open_clip downloads pretrained weights from
_WEIGHT_HOSTS = ('huggingface.co', 'openaipublic.azureedge.net')


class ClipWeightsUnavailable(RuntimeError):
    """Offline and the requested CLIP weights are not in the local cache."""


def weights_host_reachable(timeout: float = 3.0) -> bool:
    """Whether a host that serves open_clip weights answers at all (one
    TCP connection per host, ``timeout`` seconds at most): offline, the
    hub client would otherwise retry for about a minute before failing."""
    import socket
    for host in _WEIGHT_HOSTS:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            return True
        except OSError:
            continue
    return False


@contextlib.contextmanager
def _hub_offline():
    """huggingface_hub's offline mode for the block: its local cache only,
    no network retries."""
    try:
        from huggingface_hub import constants
    except ImportError:  # no hub client: open_clip uses plain URLs
        yield
        return
    old_env = os.environ.get('HF_HUB_OFFLINE')
    old = constants.HF_HUB_OFFLINE
    os.environ['HF_HUB_OFFLINE'] = '1'
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old
        if old_env is None:
            os.environ.pop('HF_HUB_OFFLINE', None)
        else:
            os.environ['HF_HUB_OFFLINE'] = old_env


def default_cache_dir() -> str:
    """``$MMDET_CLIPJOINT_CACHE/text_embeddings`` (default under
    ``~/.cache/mmdet_clipjoint``)."""
    root = os.environ.get('MMDET_CLIPJOINT_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'mmdet_clipjoint')
    return osp.join(root, 'text_embeddings')


def check_clip_model_name(model_name: str) -> None:
    """Raise a clear error for an unknown open_clip architecture name.

    Only consults open_clip's bundled registry (no file or network access).
    """
    import open_clip
    if model_name.startswith(('hf-hub:', 'local-dir:')):
        return
    known = open_clip.list_models()
    if model_name.replace('/', '-') not in known:
        close = [m for m in known if model_name.lower()[:5] in m.lower()][:8]
        raise ValueError(
            f'Unknown open_clip model name {model_name!r}. Use a name from '
            f'open_clip.list_models() (e.g. {close or known[:8]}); '
            'the paper uses \'ViT-B-32\'.')


def check_clip_pretrained(model_name: str, pretrained: Optional[str]) -> None:
    """Raise a clear error when ``pretrained`` is neither a known tag of
    ``model_name`` nor a path to an existing file."""
    import open_clip
    if pretrained is None or model_name.startswith(('hf-hub:',
                                                    'local-dir:')):
        return
    tags = open_clip.list_pretrained_tags_by_model(
        model_name.replace('/', '-'))
    if pretrained in tags:
        return
    looks_like_path = os.sep in pretrained or pretrained.endswith(
        ('.bin', '.pt', '.pth', '.safetensors'))
    if looks_like_path:
        if not osp.isfile(pretrained):
            raise FileNotFoundError(
                f'CLIP checkpoint {pretrained!r} does not exist. Point '
                '`clip_pretrained` at an open_clip checkpoint file of '
                f'{model_name!r}, or use a pretrained tag {tags}. '
                + OFFLINE_HINT)
        return
    raise ValueError(
        f'Unknown open_clip pretrained tag {pretrained!r} for {model_name!r}.'
        f' Known tags: {tags}; or pass a path to a local checkpoint file.')


def build_clip_model(model_name: str,
                     pretrained: Optional[str]) -> torch.nn.Module:
    """Create an open_clip model with the requested weights, in eval mode.

    Args:
        model_name: open_clip architecture, e.g. ``'ViT-B-32'``.
        pretrained: A pretrained tag (``'openai'``), a local checkpoint path,
            or None for random weights (tests only).

    Raises:
        ValueError / FileNotFoundError / RuntimeError with instructions for
        offline machines when the weights cannot be obtained.
    """
    import open_clip
    check_clip_model_name(model_name)
    check_clip_pretrained(model_name, pretrained)
    is_tag = pretrained is not None and not osp.isfile(pretrained)
    offline = is_tag and not weights_host_reachable()
    try:
        with _hub_offline() if offline else contextlib.nullcontext():
            model = open_clip.create_model(
                model_name, pretrained=pretrained, device='cpu')
    except Exception as e:  # download failure, corrupt file, ...
        if offline:
            raise ClipWeightsUnavailable(
                f'No network: the CLIP weights {model_name!r} / '
                f'{pretrained!r} are not in the local cache and cannot be '
                'downloaded (no weights host answers). ' + OFFLINE_HINT
            ) from e
        raise RuntimeError(
            f'Could not load CLIP weights for model {model_name!r} with '
            f'pretrained={pretrained!r}: {type(e).__name__}: {e}\n' +
            OFFLINE_HINT) from e
    return model.eval()


@torch.no_grad()
def encode_class_names(class_names: Sequence[str],
                       model_name: str = 'ViT-B-32',
                       pretrained: Optional[str] = 'openai',
                       templates: Sequence[str] = DEFAULT_TEMPLATES,
                       model: Optional[torch.nn.Module] = None,
                       batch_size: int = 256,
                       progress: bool = False) -> Tensor:
    """Encode every class name with every prompt template and average.

    Args:
        class_names: C class names.
        model_name: open_clip architecture.
        pretrained: Tag, checkpoint path or None (random weights).
        templates: T prompt templates with one ``{}`` each; the T
            normalised embeddings of a class are averaged (prompt ensemble)
            and re-normalised.
        model: An already built open_clip model (skips building one).
        batch_size: Prompts per text-encoder batch.
        progress: Show a progress bar over the classes.

    Returns:
        Tensor: L2-normalised embeddings of shape (C, D).
    """
    import open_clip
    templates = list(templates)
    for t in templates:
        if t.count('{}') != 1:
            raise ValueError(f'prompt template {t!r} must contain exactly '
                             'one "{}" for the class name')
    if model is None:
        model = build_clip_model(model_name, pretrained)
    tokenizer = open_clip.get_tokenizer(model_name)
    prompts = [t.format(name) for name in class_names for t in templates]
    feats = []
    starts = range(0, len(prompts), batch_size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc='encoding prompts', unit='batch')
    for s in starts:
        tokens = tokenizer(prompts[s:s + batch_size])
        feats.append(F.normalize(model.encode_text(tokens).float(), dim=-1))
    feats = torch.cat(feats).view(len(class_names), len(templates), -1)
    return F.normalize(feats.mean(dim=1), dim=-1)


def save_embeddings_file(path: str, embeddings: Tensor,
                         class_names: Sequence[str], **meta) -> None:
    """Write an embeddings file (see the module docstring)."""
    d = osp.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    if path.endswith('.npy'):
        np.save(path, embeddings.detach().cpu().float().numpy())
        return
    tmp = path + '.tmp'
    torch.save(
        dict(embeddings=embeddings.detach().cpu().float(),
             class_names=list(class_names), **meta), tmp)
    os.replace(tmp, path)  # never leave a half-written file under `path`


def load_embeddings_file(path: str,
                         class_names: Optional[Sequence[str]] = None,
                         embed_dim: Optional[int] = None) -> Dict:
    """Load and validate an embeddings file.

    Args:
        path: ``.pt`` or ``.npy`` file.
        class_names: Expected class names (checked against the file's, in
            order, when the file carries names).
        embed_dim: Expected embedding width D.

    Returns:
        dict: ``embeddings`` (Tensor (C, D), float32) plus the file's
        metadata.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Text embeddings file {path!r} does not exist. Create it with '
            '`python tools/dump_text_embeddings.py <config> --out '
            f'{path}` or fix `embeddings_file` in the config.')
    try:
        if path.endswith('.npy'):
            data = dict(embeddings=torch.from_numpy(
                np.load(path, allow_pickle=False)))
        else:
            data = torch.load(path, map_location='cpu', weights_only=True)
            if isinstance(data, Tensor):
                data = dict(embeddings=data)
    except Exception as e:
        raise ValueError(
            f'Text embeddings file {path!r} could not be read '
            f'({type(e).__name__}: {e}). It must be a .npy array of shape '
            '(C, D) or a .pt dict written by tools/dump_text_embeddings.py; '
            're-create it with that tool.') from e
    emb = data.get('embeddings') if isinstance(data, dict) else None
    if not isinstance(emb, Tensor):
        raise ValueError(
            f'Text embeddings file {path!r} holds no tensor under '
            f'"embeddings" (keys: {list(data) if isinstance(data, dict) else type(data)}).'
            ' Re-create it with tools/dump_text_embeddings.py.')
    emb = emb.float()
    n = len(class_names) if class_names is not None else emb.shape[0]
    if emb.dim() != 2 or emb.shape[0] != n or (embed_dim is not None and
                                                emb.shape[1] != embed_dim):
        raise ValueError(
            f'Text embeddings in {path!r} have shape {tuple(emb.shape)}, '
            f'expected ({n}, {embed_dim or "D"}): one row per class '
            f'({n} classes) of width embed_dim. Re-dump them for this '
            'class list / CLIP model, or fix `embed_dim`.')
    if not torch.isfinite(emb).all():
        raise ValueError(
            f'Text embeddings in {path!r} contain NaN or Inf values; '
            're-create the file with tools/dump_text_embeddings.py.')
    names = data.get('class_names')
    if class_names is not None and names is not None and \
            list(names) != list(class_names):
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(names, class_names))
                if a != b][:5]
        raise ValueError(
            f'Class names in {path!r} differ from the config\'s '
            f'(first differences as (index, file, config): {diff}). '
            'Re-dump the embeddings for this class list and order.')
    data['embeddings'] = emb
    return data


def cache_key(class_names: Sequence[str], model_name: str,
              pretrained: Optional[str], templates: Sequence[str]) -> str:
    """A content hash identifying one CLIP encoding of a class list."""
    src = pretrained
    if pretrained is not None and osp.isfile(pretrained):
        st = os.stat(pretrained)
        src = f'{osp.abspath(pretrained)}:{st.st_size}:{st.st_mtime_ns}'
    blob = json.dumps([list(class_names), model_name, src,
                       list(templates)]).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def encode_class_names_cached(class_names: Sequence[str],
                              model_name: str,
                              pretrained: Optional[str],
                              templates: Sequence[str],
                              cache_dir: Optional[str] = None,
                              progress: bool = False) -> Tensor:
    """:func:`encode_class_names` behind a file cache.

    Random-weight encodings (``pretrained=None``) are never cached.
    """
    if pretrained is None or cache_dir is None:
        return encode_class_names(class_names, model_name, pretrained,
                                  templates, progress=progress)
    path = osp.join(
        cache_dir,
        cache_key(class_names, model_name, pretrained, templates) + '.pt')
    if osp.isfile(path):
        try:
            return load_embeddings_file(path, class_names)['embeddings']
        except ValueError:
            pass  # corrupt cache entry: encode again and overwrite
    emb = encode_class_names(class_names, model_name, pretrained, templates,
                             progress=progress)
    save_embeddings_file(path, emb, class_names, model=model_name,
                         pretrained=str(pretrained),
                         templates=list(templates))
    return emb

