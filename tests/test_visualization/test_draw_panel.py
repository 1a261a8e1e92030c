# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""draw_panel never cuts its title off (issue 28, item 4: the ONNX
picture's title read "ClipJointRTMDetHead (")."""
import numpy as np
from PIL import Image

from mmdet_clipjoint.visualization import draw_panel

TITLE = 'ClipJointRTMDetHead (fuse, onnxruntime)'


def _img(tmp_path, w, h):
    path = str(tmp_path / f'{w}x{h}.png')
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(path)
    return path


def _title_ink(panel):
    """Columns of the 40-px title bar that hold text (not white)."""
    bar = panel[:40].min(axis=2)  # (40, W)
    return np.nonzero((bar < 128).any(axis=0))[0]


def test_long_title_on_a_small_image_is_not_cut(tmp_path):
    panel = draw_panel(_img(tmp_path, 72, 48), [[4, 4, 30, 30]], [0], [0.5],
                       ['cat'], TITLE, 1, (230, 60, 20))
    ink = _title_ink(panel)
    # the text ends inside the panel, clear of its right edge
    assert ink.max() < panel.shape[1] - 3
    assert panel.shape[0] == 48 + 40


def test_title_wraps_at_spaces_to_the_image_width(tmp_path):
    panel = draw_panel(_img(tmp_path, 200, 100), [], [], [], [], TITLE, 1,
                       (230, 60, 20))
    assert panel.shape[:2] == (140, 200)  # wrapped, not widened
    ink = _title_ink(panel)
    assert ink.max() < 200 - 3
    rows = np.nonzero((panel[:40].min(axis=2) < 128).any(axis=1))[0]
    assert rows.max() > 20  # two lines of text


def test_short_titles_keep_the_image_size(tmp_path):
    panel = draw_panel(_img(tmp_path, 96, 64), [], [], None, [], 'gt\nx.jpg',
                       2, (20, 130, 20))
    assert panel.shape == (64 * 2 + 40, 96 * 2, 3)
