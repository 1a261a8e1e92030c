# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""demo/open_vocab_demo.py: a trained checkpoint answers under new names."""
import json
import os.path as osp

import pytest

from ..helpers import load_script


def test_open_vocab_demo_names_file(trained_clipjoint, tmp_path, capsys):
    demo = load_script('demo/open_vocab_demo.py')
    names = tmp_path / 'names.txt'
    names.write_text('dog\ncat\nkite\n')
    img = osp.join(trained_clipjoint['data']['data_root'], 'val',
                   '000000.jpg')
    out = str(tmp_path / 'out')
    result = demo.main([img, trained_clipjoint['config'], '--weights',
                        trained_clipjoint['checkpoint'], '--vocabulary',
                        str(names), '--out-dir', out, '--pred-score-thr',
                        '0', '--cfg-options',
                        'model.test_cfg.rcnn.score_thr=0.0'])
    with open(osp.join(out, 'preds', '000000.json')) as f:
        pred = json.load(f)
    assert len(pred['labels']) > 0
    assert set(pred['labels']) <= {0, 1, 2}
    assert set(pred['label_names']) <= {'dog', 'cat', 'kite'}
    assert result['predictions'][0]['label_names'] == pred['label_names']
    assert osp.isfile(osp.join(out, 'vis', '000000.jpg'))
    assert '3 class names' in capsys.readouterr().out


def test_open_vocab_demo_bad_vocabulary(trained_clipjoint, tmp_path):
    demo = load_script('demo/open_vocab_demo.py')
    img = osp.join(trained_clipjoint['data']['data_root'], 'val',
                   '000000.jpg')
    with pytest.raises(ValueError, match='neither a shipped vocabulary'):
        demo.main([img, trained_clipjoint['config'], '--weights',
                   trained_clipjoint['checkpoint'], '--vocabulary',
                   'no-such-vocabulary', '--out-dir', str(tmp_path)])


def test_open_vocab_demo_sheet_of_a_folder(trained_clipjoint, tmp_path,
                                           capsys):
    """``--sheet``: every image of a folder, enlarged side by side, under
    the new vocabulary's names."""
    import numpy as np
    from PIL import Image
    demo = load_script('demo/open_vocab_demo.py')
    val = osp.join(trained_clipjoint['data']['data_root'], 'val')
    imgs = tmp_path / 'imgs'
    imgs.mkdir()
    for name in ('000001.jpg', '000000.jpg'):
        Image.open(osp.join(val, name)).save(imgs / name)
    sheet = str(tmp_path / 'sheet.png')
    result = demo.main([str(imgs), trained_clipjoint['config'], '--weights',
                        trained_clipjoint['checkpoint'], '--vocabulary',
                        'lvis', '--out-dir', str(tmp_path / 'out'),
                        '--pred-score-thr', '0', '--sheet', sheet,
                        '--no-save-vis', '--no-save-pred', '--cfg-options',
                        'model.test_cfg.rcnn.score_thr=0.0'])
    assert len(result['predictions']) == 2
    w, h = Image.open(osp.join(val, '000000.jpg')).size
    arr = np.asarray(Image.open(sheet))
    scale = max(1, round(360 / max(w, h)))
    # two enlarged panels and the gap between them
    assert arr.shape[1] >= 2 * w * scale + 6
    assert arr.shape[0] >= h * scale
    assert f'sheet of 2 images: {sheet}' in capsys.readouterr().out
