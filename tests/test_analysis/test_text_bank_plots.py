# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Label placement of the region-embedding plot terminates and separates
labels, also on a degenerate axis (a CI run hung there: the gap between
labels fell below the floating-point spacing of their height)."""
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mmdet_clipjoint.analysis.text_bank_plots import _spread_labels  # noqa


def _label_heights(ax):
    return [t.xyann[1] for t in ax.texts]


def test_labels_of_one_point_are_stacked():
    fig, ax = plt.subplots()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    points = np.array([[0.5, 0.5]] * 4)
    _spread_labels(ax, points, ['a', 'b', 'c', 'd'])
    heights = sorted(_label_heights(ax))
    assert np.allclose(np.diff(heights), 0.035)
    plt.close(fig)


def test_degenerate_axis_terminates():
    fig, ax = plt.subplots()
    ax.set_xlim(0, 1)
    # what an all-equal projection can give: a span far below the
    # spacing of floats near the points' height
    ax.get_ylim = lambda: (1.0, 1.0 + 1e-15)
    points = np.array([[0.5, 1.0]] * 5)
    _spread_labels(ax, points, list('abcde'))
    heights = _label_heights(ax)
    assert len(set(heights)) == 5  # every label moved apart
    plt.close(fig)
