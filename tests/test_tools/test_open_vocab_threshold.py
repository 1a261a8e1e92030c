# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""demo/open_vocab_demo.py draws LVIS with a threshold that suits 1203
names and says when an image has no box to draw (issue 28, item 3)."""
import os.path as osp

from ..helpers import load_script


def test_lvis_threshold_and_empty_drawings(trained_clipjoint, tmp_path,
                                           capsys):
    demo = load_script('demo/open_vocab_demo.py')
    img = osp.join(trained_clipjoint['data']['data_root'], 'val',
                   '000000.jpg')
    args = [img, trained_clipjoint['config'], '--weights',
            trained_clipjoint['checkpoint'], '--vocabulary', 'lvis',
            '--no-save-vis', '--cfg-options',
            'model.test_cfg.rcnn.score_thr=0.0']
    capsys.readouterr()
    result = demo.main(args + ['--out-dir', str(tmp_path / 'a')])
    out = capsys.readouterr().out
    assert 'drawing boxes with score >= 0.026 (the default for 1203 names' \
        in out
    scores = result['predictions'][0]['scores']
    assert scores  # score_thr 0: the detector's boxes come back
    if max(scores) < 0.026:
        assert 'image 0: 0 boxes >= thr 0.026' in out
    demo.main(args + ['--out-dir', str(tmp_path / 'b'),
                      '--pred-score-thr', '1.01'])
    out = capsys.readouterr().out
    assert f'image 0: 0 boxes >= thr 1.01 (best score {max(scores):.3f}); ' \
        'lower --pred-score-thr to draw some' in out
