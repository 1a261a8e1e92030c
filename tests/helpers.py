# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Helpers shared by the tests (configs for CPU, a tiny CLIP model)."""
import json
import os.path as osp

TINY_CLIP = 'tiny-clip-test'
TINY_CLIP_CFG = dict(
    embed_dim=32,
    vision_cfg=dict(image_size=32, layers=1, width=64, head_width=32,
                    patch_size=16),
    text_cfg=dict(context_length=16, vocab_size=49408, width=32, heads=2,
                  layers=1))


def load_script(relpath: str):
    """Import a script of the repository (``tools/x.py``, ``demo/y.py``) as
    a module, by path (scripts are not a package)."""
    import importlib.util
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    name = osp.splitext(osp.basename(relpath))[0]
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(root, relpath))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def register_tiny_clip(tmp_dir) -> str:
    """Register a tiny open_clip architecture (random weights, D=32)."""
    import open_clip
    if TINY_CLIP not in open_clip.list_models():
        path = osp.join(str(tmp_dir), TINY_CLIP + '.json')
        with open(path, 'w') as f:
            json.dump(TINY_CLIP_CFG, f)
        open_clip.add_model_config(path)
    return TINY_CLIP


def write_child_config(path, base, extra=''):
    """Write a config file ``_base_ = base`` plus ``extra`` lines."""
    with open(path, 'w') as f:
        f.write(f"_base_ = '{base}'\n{extra}")
    return str(path)


def small_cfg(tmp_path, base, data, extra='', **shrink):
    """Load ``base`` through a child config file and shrink it for CPU."""
    from mmengine.config import Config

    from mmdet_clipjoint.utils import shrink_config
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_child_config(tmp_path / 'child_cfg.py',
                              base if '::' in base else osp.abspath(base),
                              extra)
    cfg = Config.fromfile(path)
    return shrink_config(cfg, data, str(tmp_path / 'work_dir'), **shrink)


def assert_nested_close(a, b, path: str = '', atol: float = 0.0,
                        rtol: float = 0.0) -> None:
    """Nested dicts / lists / tuples of tensors and plain values are equal:
    tensors within ``atol`` / ``rtol`` (default 0: bit-identical, same
    shape and dtype), everything else by ``==``; ``path`` names the first
    difference."""
    import torch
    if isinstance(a, torch.Tensor):
        torch.testing.assert_close(a, b, atol=atol, rtol=rtol, msg=path)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), (path, sorted(a), sorted(b))
        for k in a:
            assert_nested_close(a[k], b[k], f'{path}.{k}', atol, rtol)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_nested_close(x, y, f'{path}[{i}]', atol, rtol)
    else:
        assert a == b, (path, a, b)
