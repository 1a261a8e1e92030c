# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The configs ship with the package (mmdet_clipjoint/.mim/configs, as
mmdet's): resolved there, inside a built wheel, and found by the
benchmarks from an installed wheel away from the checkout."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest

from mmdet_clipjoint.utils.config_files import (PACKAGE_CONFIGS, SCOPE,
                                                config_file, load_config)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RTMDET = 'clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py'


def _repo_configs():
    out = []
    for d, _, files in os.walk(osp.join(ROOT, 'configs')):
        out += [osp.relpath(osp.join(d, f), osp.join(ROOT, 'configs'))
                for f in files if f.endswith(('.py', '.md'))]
    return sorted(out)


def test_package_configs_are_the_repository_configs():
    for rel in _repo_configs():
        with open(osp.join(ROOT, 'configs', rel), 'rb') as a, \
                open(osp.join(PACKAGE_CONFIGS, rel), 'rb') as b:
            assert a.read() == b.read(), rel


def test_config_file_resolution(tmp_path):
    shipped = osp.join(PACKAGE_CONFIGS, RTMDET)
    assert config_file('configs/' + RTMDET) == shipped
    assert config_file(SCOPE + RTMDET) == shipped
    other = str(tmp_path / 'my_config.py')
    assert config_file(other) == other  # any other file: as it is
    with pytest.raises(FileNotFoundError, match='not among the configs'):
        config_file('configs/clipjoint_rtmdet/no_such_config.py')
    cfg = load_config(SCOPE + RTMDET)
    assert cfg.model.bbox_head.type.startswith('ClipJoint')
    assert load_config('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py') \
        .model.type == 'RTMDet'


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """``pip wheel`` of a copy of the checkout (the build writes build/ and
    *.egg-info next to the sources: not into the working tree)."""
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
    shutil.copytree(osp.join(ROOT, 'mmdet_clipjoint'),
                    src / 'mmdet_clipjoint', symlinks=True, ignore=ignore)
    shutil.copytree(osp.join(ROOT, 'configs'), src / 'configs',
                    ignore=ignore)
    for f in ('pyproject.toml', 'README.md'):
        shutil.copy(osp.join(ROOT, f), src / f)
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '-q', '-w', str(tmp / 'dist'), str(src)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path, ) = (tmp / 'dist').glob('mmdet_clipjoint-*.whl')
    return path


def test_wheel_holds_the_configs(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for rel in _repo_configs():
        assert 'mmdet_clipjoint/.mim/configs/' + rel in names, rel


def test_benchmarks_find_their_configs_from_an_installed_wheel(
        wheel, tmp_path):
    """The wheel unpacked into a site folder (what ``pip install`` does,
    without the dependencies, which are installed here already) and used
    from a folder that is no checkout: every config of the accuracy, speed
    and open-vocabulary benchmarks resolves inside the installed package,
    a run's config builds and the speed benchmark runs."""
    site = tmp_path / 'site'
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    work = tmp_path / 'elsewhere'
    work.mkdir()
    script = f"""
import os.path as osp
import mmdet_clipjoint
pkg = osp.dirname(mmdet_clipjoint.__file__)
assert pkg == {str(site / 'mmdet_clipjoint')!r}, pkg
from mmdet_clipjoint.benchmark import DETECTORS, build_experiment_cfg
from mmdet_clipjoint.benchmark.open_vocab import OPEN_VOCAB_ARMS
from mmdet_clipjoint.benchmark.speed_detectors import SPEED_DETECTORS
from mmdet_clipjoint.utils.config_files import config_file, load_config
paths = [s[k] for s in (*DETECTORS.values(), *SPEED_DETECTORS.values())
         for k in ('stock', 'clipjoint') if '::' not in s[k]]
paths += list(OPEN_VOCAB_ARMS.values())
for p in paths:
    f = config_file(p)
    assert f.startswith(pkg), f
    load_config(p)
from mmdet_clipjoint.datasets import make_synthetic_dataset
data = make_synthetic_dataset('data', 4, 2, (64, 64), seed=0)
for det in DETECTORS:
    cfg = build_experiment_cfg(det, 'clipjoint', data, 'work', 'both')
    assert cfg.filename.startswith(pkg), cfg.filename
# a speed measurement: the stock YOLO11 config is one of this package's
from mmdet_clipjoint.benchmark.speed import run_speed_benchmark
res = run_speed_benchmark('quick', detectors=['yolo11'], img_size=64,
                          reps=1, warmup=0, train=False, memory=False,
                          flops=False, modes=['det'], log=lambda *a: None)
assert res['detectors']['yolo11']['det_equals_stock']
print('ok', len(paths))
"""
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', script], cwd=str(work),
                          env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'ok' in proc.stdout
