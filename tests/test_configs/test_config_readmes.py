# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Every config folder has a README that lists each of its configs, and the
project README links every folder."""
import glob
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDERS = sorted(
    d for d in glob.glob(osp.join(ROOT, 'configs', '*'))
    if osp.isdir(d) and osp.basename(d) != '_base_')


@pytest.mark.parametrize('folder', FOLDERS, ids=osp.basename)
def test_readme_lists_every_config(folder):
    readme = osp.join(folder, 'README.md')
    assert osp.isfile(readme), f'{readme} is missing'
    with open(readme) as f:
        text = f.read()
    missing = [
        osp.basename(p) for p in glob.glob(osp.join(folder, '*.py'))
        if f'({osp.basename(p)})' not in text
    ]
    assert not missing, f'{readme} does not link {missing}'
    with open(osp.join(ROOT, 'README.md')) as f:
        assert f'configs/{osp.basename(folder)}/README.md' in f.read()
