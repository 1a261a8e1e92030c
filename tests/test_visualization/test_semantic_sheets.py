# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Pictures of the semantic world (docs/benchmark_semantic.md)."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmdet_clipjoint.benchmark.semantic import SEMANTIC_CLASSES
from mmdet_clipjoint.datasets import COCO_EMOJI, make_semantic_dataset
from mmdet_clipjoint.visualization import (draw_class_sheet,
                                           draw_example_strip,
                                           plot_rare_vs_neighbour)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_class_sheet_draws_every_class(tmp_path):
    table = {c: COCO_EMOJI[c] for c in ('car', 'bus', 'cat')}
    out = draw_class_sheet(table, str(tmp_path / 's.png'), cell=64,
                           columns=2)
    img = np.asarray(Image.open(out))
    assert img.shape == (2 * (64 + 26), 2 * 64, 3)
    # three cells hold a picture, the fourth is blank
    cells = [img[r * 90:r * 90 + 64, c * 64:(c + 1) * 64]
             for r in range(2) for c in range(2)]
    assert [bool((cell < 250).any()) for cell in cells] == [True] * 3 + [
        False]


def test_example_strip_shows_the_boxes(tmp_path):
    data = make_semantic_dataset(str(tmp_path / 'd'), ('car', 'cat'), 3, 0,
                                 (64, 48), objects_per_image=(1, 1))
    out = draw_example_strip(data, str(tmp_path / 'e.png'), num=3, scale=2,
                             rare=['cat'])
    img = np.asarray(Image.open(out))
    assert img.shape == (96, 3 * 128 + 2 * 4, 3)
    blue = (img[..., 2] > 200) & (img[..., 0] < 40)
    red = (img[..., 0] > 200) & (img[..., 1] < 40) & (img[..., 2] < 40)
    assert blue.any() or red.any()


def test_rare_plot_and_command_line(tmp_path):
    rare = ['truck', 'cat']

    def rec(method, seed, ap):
        return dict(detector='rtmdet', setting='imbalanced', method=method,
                    seed=seed, metrics={f'coco/{c}_precision': ap
                                        for c in rare})
    runs = [rec('stock', s, 0.1) for s in (0, 1)] + [
        rec('clipjoint', s, 0.3) for s in (0, 1)]
    out = plot_rare_vs_neighbour(runs, SEMANTIC_CLASSES, rare,
                                 str(tmp_path / 'r.png'))
    assert Image.open(out).size[0] > 100
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/semantic_figures.py', 'rare',
         str(tmp_path / 'x.png')], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and 'needs --runs' in proc.stderr


def test_sheets_command_writes_both_tables(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/semantic_figures.py',
         'sheets', str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert '62 classes' in proc.stdout
    for name in ('coco', 'source'):
        assert osp.isfile(tmp_path / f'semantic_{name}_classes.png')


@pytest.mark.parametrize('kind', ['strip'])
def test_strip_needs_a_semantic_preset(kind, tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/semantic_figures.py', kind,
         str(tmp_path / 'x.png'), '--preset', 'cpu'], cwd=ROOT,
        capture_output=True, text=True)
    assert proc.returncode == 2 and 'invalid choice' in proc.stderr
