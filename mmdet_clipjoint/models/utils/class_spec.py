# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Where a text bank's class names come from: a detector config (its
``ContrastiveTextBank`` or its dataset), or a ``.json`` / ``.txt`` list."""
import json
from typing import Dict, List, Sequence, Tuple

__all__ = [
    'find_text_banks', 'class_spec_from_config', 'class_spec_from_list',
    'check_class_names'
]


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


def check_class_names(names: Sequence[str], source: str) -> None:
    if not names:
        raise ValueError(f'No class names found in {source}.')
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        raise ValueError(f'Duplicate class names in {source}: {dup}.')
