# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Every config under configs/ still builds to what it built before.

``tests/data/config_snapshot.json`` holds, per config, the sections that
decide a run (the model, the optimizer and schedule, the loops, the hooks,
the datasets' type, classes and pipelines), taken from the configs as they were before
they were rewritten as deltas of each other. Refactoring the configs
(inheritance, shared ``_base_`` pieces) must keep them equal; a change that
is meant to change a config regenerates the snapshot::

    OMP_NUM_THREADS=1 python tests/test_configs/test_config_snapshot.py

and the diff of the JSON file shows what changed.
"""
import glob
import json
import os.path as osp
import sys
from typing import Any, Dict, List

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SNAPSHOT = osp.join(ROOT, 'tests', 'data', 'config_snapshot.json')
CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)

#: sections kept whole
SECTIONS = ('model', 'optim_wrapper', 'param_scheduler', 'train_cfg',
            'custom_hooks', 'default_hooks')
#: dataloaders of which the dataset's type and metainfo are kept
LOADERS = ('train_dataloader', 'val_dataloader')


def _plain(obj: Any) -> Any:
    """Config values as JSON values (tuples -> lists, dicts sorted)."""
    if isinstance(obj, dict):
        return {str(k): _plain(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def _dataset_summary(dataset: Any) -> Any:
    """The type, metainfo and pipeline of a dataset config.

    Wrappers (``RepeatDataset``, ``ConcatDataset``, ...) keep their type and
    the summary of what they wrap (``dataset`` / ``datasets``).
    """
    if isinstance(dataset, (list, tuple)):
        return [_dataset_summary(d) for d in dataset]
    if not isinstance(dataset, dict):
        return _plain(dataset)
    out = {k: dataset.get(k) for k in ('type', 'metainfo', 'pipeline')}
    for key in ('dataset', 'datasets'):
        if key in dataset:
            out[key] = _dataset_summary(dataset[key])
    return out


def config_summary(rel_path: str) -> Dict[str, Any]:
    """Build ``rel_path`` (relative to the repo) and keep what is compared.

    Args:
        rel_path (str): e.g. ``configs/clipjoint_yolox/....py``.

    Returns:
        dict: ``SECTIONS`` as they are, and per dataloader of ``LOADERS``
        the dataset's :func:`_dataset_summary`; JSON values only.
    """
    # the package is not imported: the values do not depend on it
    cfg = Config.fromfile(osp.join(ROOT, rel_path),
                          import_custom_modules=False).to_dict()
    out = {key: cfg.get(key) for key in SECTIONS}
    for key in LOADERS:
        loader = cfg.get(key) or {}
        out[key] = _dataset_summary(loader.get('dataset'))
    return _plain(out)


def _diff(expected: Any, actual: Any, where: str) -> List[str]:
    """Readable paths (``model.bbox_head.proj_hidden``) where two differ."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in sorted(set(expected) | set(actual)):
            sub = f'{where}.{k}' if where else k
            if k not in actual:
                out.append(f'{sub}: missing (was {expected[k]!r})')
            elif k not in expected:
                out.append(f'{sub}: new ({actual[k]!r})')
            else:
                out += _diff(expected[k], actual[k], sub)
        return out
    if (isinstance(expected, list) and isinstance(actual, list)
            and len(expected) == len(actual)):
        return [
            d for i, (e, a) in enumerate(zip(expected, actual))
            for d in _diff(e, a, f'{where}[{i}]')
        ]
    return [] if expected == actual else \
        [f'{where}: was {expected!r}, now {actual!r}']


def _load_snapshot() -> Dict[str, Any]:
    with open(SNAPSHOT) as f:
        return json.load(f)


def test_snapshot_lists_every_config():
    assert sorted(_load_snapshot()) == CONFIGS, (
        'configs were added or removed: regenerate the snapshot '
        f'({osp.relpath(__file__, ROOT)}) and review its diff')


@pytest.mark.parametrize('rel_path', CONFIGS)
def test_config_matches_snapshot(rel_path):
    expected = _load_snapshot().get(rel_path)
    assert expected is not None, f'{rel_path} is not in the snapshot'
    diffs = _diff(expected, config_summary(rel_path), '')
    assert not diffs, f'{rel_path} builds differently:\n  ' + \
        '\n  '.join(diffs)


def test_diff_names_config_and_key():
    """The check can fail, and says where."""
    expected = dict(model=dict(bbox_head=dict(proj_hidden=256)))
    actual = dict(model=dict(bbox_head=dict(proj_hidden=128)))
    assert _diff(expected, actual, '') == \
        ['model.bbox_head.proj_hidden: was 256, now 128']
    assert _diff(dict(x=[1, 2]), dict(x=[1, 2]), '') == []
    assert _diff(dict(x=[1]), dict(x=[1, 2]), '') == \
        ['x: was [1], now [1, 2]']
    assert _diff(dict(x=[dict(a=1)]), dict(x=[dict(b=1)]), '') == \
        ['x[0].a: missing (was 1)', 'x[0].b: new (1)']


def write_snapshot() -> None:
    """Regenerate ``tests/data/config_snapshot.json`` from the configs."""
    data = {p: config_summary(p) for p in CONFIGS}
    with open(SNAPSHOT, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'wrote {len(data)} configs to {osp.relpath(SNAPSHOT, ROOT)}')


if __name__ == '__main__':
    sys.exit(write_snapshot())
