# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The demos' image checks: a folder without images, a file that is not an
image (issue 28, items 1 and 6)."""
import os.path as osp
import sys

import numpy as np
import pytest
from PIL import Image

from mmdet_clipjoint.apis import IMG_EXTENSIONS, check_image_input
from ..helpers import load_script
from ..test_tools.conftest import run_cmd

RTMDET = 'configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py'


def _image(path, size=(24, 16)):
    Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(path)
    return str(path)


def test_folder_without_images(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError) as e:
        check_image_input(str(empty))
    msg = str(e.value)
    assert f"no images in folder {str(empty)!r}" in msg
    assert ', '.join(IMG_EXTENSIONS) in msg and 'it is empty' in msg
    # other files, and images one level down (not searched by DetInferencer)
    (empty / 'notes.txt').write_text('x')
    (empty / 'sub').mkdir()
    _image(empty / 'sub' / 'a.jpg')
    with pytest.raises(ValueError, match=r'1 other file\(s\) and 1 '
                       r'subfolder\(s\).*subfolders are not searched'):
        check_image_input(str(empty))
    # an upper-case extension is not matched by DetInferencer
    _image(empty / 'b.JPG')
    with pytest.raises(ValueError, match="'b.JPG' have an upper-case"):
        check_image_input(str(empty))
    _image(empty / 'c.png')
    assert check_image_input(str(empty)) == [str(empty / 'c.png')]


def test_file_that_is_not_an_image(tmp_path):
    fake = tmp_path / 'photo.jpg'
    fake.write_text('not an image at all')
    for path in (str(fake), str(tmp_path)):  # alone, and in a folder
        with pytest.raises(ValueError) as e:
            check_image_input(path)
        assert f"{str(fake)!r} (19 bytes) is not an image that OpenCV can " \
            'read' in str(e.value)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        check_image_input(str(tmp_path / 'missing.jpg'))
    good = _image(tmp_path / 'good.png')
    assert check_image_input(good) == [good]
    assert check_image_input('https://example.com/a.jpg') == [
        'https://example.com/a.jpg']


@pytest.mark.parametrize('script', ['demo/image_demo.py',
                                    'demo/open_vocab_demo.py'])
def test_demos_check_images_before_building_the_model(script, tmp_path):
    """The check comes first: the config and weights are never read."""
    demo = load_script(script)
    empty = tmp_path / 'empty'
    empty.mkdir()
    args = ['no_config.py', '--weights', 'no.pth']
    if 'open_vocab' in script:
        args += ['--vocabulary', 'lvis']
    with pytest.raises(ValueError, match='no images in folder'):
        demo.main([str(empty)] + args)
    fake = tmp_path / 'x.png'
    fake.write_bytes(b'\x00' * 10)
    with pytest.raises(ValueError, match='is not an image that OpenCV'):
        demo.main([str(fake)] + args)


def test_image_demo_command_line_on_an_empty_folder(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    rc, log = run_cmd([sys.executable, 'demo/image_demo.py', str(empty),
                       RTMDET, '--out-dir', str(tmp_path / 'out')])
    assert rc != 0
    assert f"image_demo: error: no images in folder {str(empty)!r}" in log
    assert 'Results saved' not in log and 'Traceback' not in log
    assert not osp.exists(tmp_path / 'out')


def test_build_inferencer_missing_weights(tmp_path):
    from mmdet_clipjoint.apis import build_inferencer
    with pytest.raises(FileNotFoundError, match='not found'):
        build_inferencer(RTMDET, str(tmp_path / 'missing.pth'))


def test_finish_predictions_names_labels_and_reports(tmp_path, capsys):
    from mmdet_clipjoint.apis import finish_predictions
    preds = tmp_path / 'preds'
    preds.mkdir()
    (preds / 'a.json').write_text('{"labels": [1, 0], "scores": [0.2, 0.1]}')
    result = dict(predictions=[
        dict(labels=[1, 0], scores=[0.2, 0.1]),
        dict(labels=[0], scores=[0.01])
    ])
    finish_predictions(result, ['cat', 'dog'], 0.05, str(tmp_path),
                       save_vis=False, save_pred=True)
    assert result['predictions'][0]['label_names'] == ['dog', 'cat']
    out = capsys.readouterr().out
    assert 'image 1: 0 boxes >= thr 0.05 (best score 0.010)' in out
    assert 'image 0:' not in out
    assert f'Results saved to {tmp_path}' in out
    finish_predictions(result, ['cat', 'dog'], 0.05, str(tmp_path),
                       save_vis=False, save_pred=False)
    assert 'Results saved' not in capsys.readouterr().out
