# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Encode class names with the CLIP text encoder into an embeddings file.

Run it once on a machine that has the CLIP weights (a pretrained tag that
open_clip can fetch, or a local checkpoint file); training then needs neither
CLIP nor a network: set the text bank to ``init_source='file',
embeddings_file=<out>``. The file records the model, the pretrained tag or
checkpoint, the prompt templates and the class names; the text bank checks
the names (and their order) when it loads the file.

Class names come from (first match):

* a detector config (``.py``): its ``ContrastiveTextBank`` (``class_names``,
  which may be a dataset type such as ``'VOCDataset'``, ``prompt_aliases``,
  ``templates``, ``clip_model``, ``clip_pretrained``, ``embed_dim``), or,
  for a config without a text bank, the training dataset's ``metainfo``
  classes / its dataset type's ``METAINFO``;
* a ``.json`` file: a list of names, or a dict with ``classes`` (and
  optionally ``prompt_aliases``), e.g. the ``dataset_info.json`` written by
  ``tools/make_synthetic_dataset.py``;
* a ``.txt`` file: one name per line (blank lines and ``#`` comments are
  skipped).

Examples::

    # names, prompts, CLIP model and weights from a config, e.g.
    # configs/clipjoint_faster-rcnn/clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py
    python tools/dump_text_embeddings.py CONFIG --out data/voc_vitb32.pt
    # offline, with a local checkpoint and a 10-prompt ensemble
    python tools/dump_text_embeddings.py classes.txt --out emb.pt \\
        --model ViT-B-32 --pretrained /models/open_clip_vit_b32.bin --ensemble
"""
import argparse
import datetime
import hashlib
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ['find_text_banks', 'class_spec_from_config', 'class_spec_from_list',
           'main']


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__.split('\n', 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('source', help='detector config (.py) or class list '
                   '(.json / .txt)')
    p.add_argument('--out', required=True,
                   help='output file: .pt (embeddings + metadata, '
                   'recommended) or .npy (array; metadata in a .json next '
                   'to it)')
    p.add_argument('--model', help='open_clip architecture (default: the '
                   "config's clip_model, else ViT-B-32)")
    p.add_argument('--pretrained',
                   help='open_clip pretrained tag (e.g. openai) or path to a '
                   "local checkpoint; 'none' = random weights (tests only). "
                   "Default: the config's clip_pretrained, else openai")
    tg = p.add_mutually_exclusive_group()
    tg.add_argument('--templates', nargs='+', metavar='TEMPLATE',
                    help='prompt template(s) with one "{}" each; several are '
                    'averaged (default: the config\'s, else "a photo of a '
                    '{}.")')
    tg.add_argument('--ensemble', action='store_true',
                    help='use the built-in 10-template prompt ensemble')
    p.add_argument('--alias', action='append', default=[],
                   metavar='NAME=TEXT',
                   help='text to put in the prompts instead of a class name '
                   '(repeatable; added to the config\'s prompt_aliases)')
    p.add_argument('--model-config',
                   help='JSON file of an extra open_clip architecture to '
                   'register (its file name is the model name)')
    p.add_argument('--batch-size', type=int, default=256,
                   help='prompts per text-encoder batch')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bar')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings (key=value), as in '
                   'tools/train.py')
    return p.parse_args(argv)


# ---------------------------------------------------------------------------
# where the class names come from
# ---------------------------------------------------------------------------
def find_text_banks(node, prefix: str = '') -> List[Tuple[str, dict]]:
    """``(key path, cfg)`` of every ContrastiveTextBank dict under ``node``."""
    found = []
    if isinstance(node, dict):
        if node.get('type') in ('ContrastiveTextBank',
                                'mmdet.ContrastiveTextBank'):
            found.append((prefix, node))
        for k, v in node.items():
            found += find_text_banks(v, f'{prefix}.{k}' if prefix else k)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found += find_text_banks(v, f'{prefix}.{i}')
    return found


def _dataset_type_classes(name: str, what: str) -> Tuple[str, ...]:
    from mmdet.registry import DATASETS
    ds = DATASETS.get(name)
    classes = getattr(ds, 'METAINFO', {}).get('classes') if ds else None
    if not classes:
        raise ValueError(
            f'{what}={name!r} is not a registered dataset type with '
            'METAINFO["classes"] (e.g. CocoDataset, VOCDataset); give the '
            'class names as a list.')
    return tuple(classes)


def _leaf_dataset(ds: dict) -> dict:
    while isinstance(ds, dict) and 'classes' not in (ds.get('metainfo')
                                                     or {}):
        if 'dataset' in ds:
            ds = ds['dataset']
        elif ds.get('datasets'):
            ds = ds['datasets'][0]
        else:
            break
    return ds


def class_spec_from_config(cfg) -> Dict:
    """Class names and CLIP settings from a loaded config.

    Returns:
        dict: ``class_names``, ``prompt_aliases`` and, when the config has a
        text bank, ``templates``, ``clip_model``, ``clip_pretrained``,
        ``embed_dim`` and ``bank_paths`` (the banks' key paths).
    """
    banks = find_text_banks(cfg.get('model', {}), 'model')
    if banks:
        path, bank = banks[0]
        names = bank.get('class_names')
        if isinstance(names, str):
            names = _dataset_type_classes(names, f'{path}.class_names')
        for other_path, other in banks[1:]:
            other_names = other.get('class_names')
            if isinstance(other_names, str):
                other_names = _dataset_type_classes(other_names, other_path)
            if list(other_names) != list(names):
                raise ValueError(
                    f'The config has text banks with different class lists '
                    f'({path} and {other_path}); dump one file per list '
                    '(e.g. from a JSON/TXT list).')
        spec = dict(class_names=tuple(names),
                    prompt_aliases=dict(bank.get('prompt_aliases') or {}),
                    bank_paths=[p for p, _ in banks])
        for key in ('templates', 'clip_model', 'clip_pretrained',
                    'embed_dim'):
            if key in bank:
                spec[key] = bank[key]
        return spec
    for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = _leaf_dataset((cfg.get(dl) or {}).get('dataset') or {})
        classes = (ds.get('metainfo') or {}).get('classes')
        if classes:
            return dict(class_names=tuple(classes), prompt_aliases={})
        if ds.get('type'):
            return dict(class_names=_dataset_type_classes(
                ds['type'], f'{dl}.dataset.type'), prompt_aliases={})
    raise ValueError('The config has neither a ContrastiveTextBank nor a '
                     'dataset with class names; pass a .json/.txt list.')


def class_spec_from_list(path: str) -> Dict:
    """Class names (and aliases) from a ``.json`` or ``.txt`` file."""
    if path.endswith('.json'):
        with open(path) as f:
            data = json.load(f)
        aliases = {}
        if isinstance(data, dict):
            aliases = dict(data.get('prompt_aliases') or {})
            data = data.get('classes')
        if not isinstance(data, list) or not all(
                isinstance(n, str) for n in data):
            raise ValueError(
                f'{path} must hold a JSON list of class names or a dict '
                'with a "classes" list.')
        names = data
    else:
        with open(path) as f:
            names = [ln.strip() for ln in f]
        names = [n for n in names if n and not n.startswith('#')]
        aliases = {}
    return dict(class_names=tuple(names), prompt_aliases=aliases)


def _check_names(names: Sequence[str], source: str) -> None:
    if not names:
        raise ValueError(f'No class names found in {source}.')
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        raise ValueError(f'Duplicate class names in {source}: {dup}.')


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def _model_width(model_name: str) -> Optional[int]:
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


# ---------------------------------------------------------------------------
def main(argv=None) -> Dict:
    """Run the tool; returns the metadata written (for tests / scripting)."""
    args = parse_args(argv)
    if not osp.isfile(args.source):
        raise FileNotFoundError(f'{args.source} does not exist.')
    if not args.out.endswith(('.pt', '.pth', '.npy')):
        raise ValueError(f'--out {args.out!r}: use a .pt (recommended) or '
                         '.npy file name.')
    import open_clip

    import mmdet_clipjoint
    from mmdet_clipjoint.models.utils import (DEFAULT_TEMPLATES,
                                              ENSEMBLE_TEMPLATES,
                                              build_clip_model,
                                              encode_class_names,
                                              load_embeddings_file,
                                              save_embeddings_file)
    if args.model_config:
        open_clip.add_model_config(args.model_config)

    if args.source.endswith('.py'):
        from mmengine.config import Config
        cfg = Config.fromfile(args.source)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        spec = class_spec_from_config(cfg)
    elif args.source.endswith(('.json', '.txt')):
        spec = class_spec_from_list(args.source)
    else:
        raise ValueError(f'{args.source}: expected a config (.py) or a '
                         'class list (.json / .txt).')
    names = spec['class_names']
    _check_names(names, args.source)
    aliases = dict(spec['prompt_aliases'])
    for item in args.alias:
        if '=' not in item:
            raise ValueError(f'--alias {item!r}: use NAME=TEXT.')
        k, v = item.split('=', 1)
        aliases[k] = v
    unknown = sorted(set(aliases) - set(names))
    if unknown:
        raise ValueError(f'Aliases for unknown classes {unknown}; known: '
                         f'{list(names)[:10]}...')
    prompt_names = [aliases.get(n, n) for n in names]

    model_name = args.model or spec.get('clip_model') or 'ViT-B-32'
    if args.pretrained is not None:
        pretrained = None if args.pretrained.lower() == 'none' \
            else args.pretrained
    else:
        pretrained = spec.get('clip_pretrained', 'openai')
    if args.ensemble:
        templates = list(ENSEMBLE_TEMPLATES)
    elif args.templates:
        templates = list(args.templates)
    else:
        templates = spec.get('templates') or list(DEFAULT_TEMPLATES)
        templates = [templates] if isinstance(templates, str) else \
            list(templates)

    width = _model_width(model_name)
    bank_dim = spec.get('embed_dim')
    if width is not None and bank_dim is not None and width != bank_dim:
        raise ValueError(
            f'open_clip {model_name!r} gives {width}-d embeddings but the '
            f'config\'s text bank has embed_dim={bank_dim}. Use the model '
            'the config names, or set the bank\'s embed_dim (e.g. '
            f'--cfg-options {spec["bank_paths"][0]}.embed_dim={width}).')
    if pretrained is None:
        print('WARNING: --pretrained none: random CLIP weights; the '
              'embeddings are meaningless (tests only).', file=sys.stderr)

    print(f'Encoding {len(names)} classes x {len(templates)} template(s) '
          f'with open_clip {model_name} ({pretrained})', flush=True)
    clip = build_clip_model(model_name, pretrained)
    emb = _encode_with_progress(encode_class_names, prompt_names,
                                model_name, pretrained, templates, clip,
                                args.batch_size, not args.no_progress)
    if bank_dim is not None and emb.shape[1] != bank_dim:
        raise ValueError(
            f'open_clip {model_name!r} gave {emb.shape[1]}-d embeddings but '
            f'the config\'s text bank has embed_dim={bank_dim}.')

    is_file = pretrained is not None and osp.isfile(pretrained)
    meta = dict(
        model=model_name,
        pretrained=osp.abspath(pretrained) if is_file else str(pretrained),
        templates=templates,
        prompt_names=prompt_names,
        embed_dim=int(emb.shape[1]),
        source=osp.abspath(args.source),
        created=datetime.datetime.now().isoformat(timespec='seconds'),
        open_clip_version=open_clip.__version__,
        mmdet_clipjoint_version=mmdet_clipjoint.__version__)
    if is_file:
        meta['pretrained_sha256'] = _sha256(pretrained)
    save_embeddings_file(args.out, emb, names, **meta)
    if args.out.endswith('.npy'):
        side = osp.splitext(args.out)[0] + '.json'
        with open(side, 'w') as f:
            json.dump(dict(meta, class_names=list(names)), f, indent=2)
        print(f'metadata (not read by the text bank): {side}')
    # read it back exactly as the text bank will
    load_embeddings_file(args.out, None if args.out.endswith('.npy') else
                         names, int(emb.shape[1]))

    out = osp.abspath(args.out)
    print(f'Wrote {tuple(emb.shape)} embeddings to {out}')
    opts = ' '.join(f'{p}.init_source=file {p}.embeddings_file={out}'
                    for p in spec.get('bank_paths', ['model.<...>.text_bank']))
    print(f'Use it with:\n  --cfg-options {opts}')
    return dict(meta, class_names=list(names), out=out,
                embeddings=emb)


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f'dump_text_embeddings: error: {e}')
