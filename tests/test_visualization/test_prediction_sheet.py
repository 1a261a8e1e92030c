# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""draw_prediction_sheet: the picture of ``open_vocab_demo.py --sheet``
(images side by side, enlarged, only boxes at or above the threshold)."""
import numpy as np
import pytest
from PIL import Image

from mmdet_clipjoint.visualization import draw_prediction_sheet

BLUE = (30, 80, 200)


def _img(tmp_path, name, w=60, h=40):
    path = str(tmp_path / name)
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(path)
    return path


def _blue(arr):
    return np.all(arr == BLUE, axis=-1)


def test_panels_side_by_side_enlarged_boxes_over_thr(tmp_path):
    a, b = _img(tmp_path, 'a.png'), _img(tmp_path, 'b.png', 40, 60)
    preds = [dict(bboxes=[[5, 5, 30, 30], [40, 2, 58, 38]],
                  scores=[0.5, 0.01], label_names=['bus_(vehicle)', 'cow']),
             dict(bboxes=[[2, 2, 20, 20]], scores=[0.02],
                  label_names=['sheep'])]
    out = draw_prediction_sheet([a, b], preds, 0.1, str(tmp_path / 's.png'),
                                title='lvis vocabulary', panel_size=180)
    sheet = np.asarray(Image.open(out).convert('RGB'))
    # panel a: 60 px wide -> x3 = 180; panel b: 60 px high -> x3, 120 wide
    assert sheet.shape[1] >= 180 + 6 + 120
    blue = _blue(sheet)
    # the box of score 0.5 is drawn (its left edge at x = 5 * 3), the box
    # of score 0.01 is not (its left edge at x = 40 * 3 stays grey above
    # the first box's label, which is drawn below that box)
    top = 40  # the title bar
    assert blue[top + 5 * 3 + 20:top + 30 * 3 - 20, 5 * 3].all()
    assert not blue[top + 10 * 3:top + 28 * 3, 40 * 3 + 1].any()
    # the second panel has no box over the threshold: nothing blue in it
    assert not blue[:, 186:].any()


def test_needs_one_prediction_per_image_and_the_names(tmp_path):
    a = _img(tmp_path, 'a.png')
    with pytest.raises(ValueError, match='one prediction per image'):
        draw_prediction_sheet([a, a], [dict(bboxes=[], scores=[],
                                            label_names=[])], 0.1,
                              str(tmp_path / 's.png'))
    with pytest.raises(ValueError, match='finish_predictions'):
        draw_prediction_sheet([a], [dict(bboxes=[[0, 0, 5, 5]],
                                         scores=[0.9])], 0.1,
                              str(tmp_path / 's.png'))
