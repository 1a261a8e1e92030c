# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Files of the wrong kind get errors that name them: the YOLO11 converter
on a file that is not a checkpoint, the ONNX runner on a ``.pth`` or a
non-ONNX file and on a file that is not an image (issue 28, items 5, 7)."""
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from .conftest import run_cmd


@pytest.fixture
def bad_files(tmp_path):
    text = tmp_path / 'notes.pt'
    text.write_text('this is a text file, not a checkpoint\n')
    empty = tmp_path / 'empty.pt'
    empty.write_bytes(b'')
    fake_pickle = tmp_path / 'fake.pt'
    fake_pickle.write_bytes(b'\x80\x02garbage that is no pickle')
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict={'w': torch.zeros(2)}), ckpt)
    img = tmp_path / 'img.png'
    Image.fromarray(np.zeros((16, 24, 3), np.uint8)).save(img)
    return dict(text=str(text), empty=str(empty), pickle=str(fake_pickle),
                ckpt=str(ckpt), img=str(img))


def test_converter_on_files_that_are_not_checkpoints(bad_files):
    from mmdet_clipjoint.models.utils.yolo11_convert import \
        load_ultralytics_state_dict
    for key, size in (('text', 38), ('empty', 0), ('pickle', 27)):
        path = bad_files[key]
        with pytest.raises(ValueError) as e:
            load_ultralytics_state_dict(path)
        assert f'{path!r} ({size} bytes) is not a PyTorch checkpoint' in \
            str(e.value)
        assert 'Give an Ultralytics YOLO11 checkpoint' in str(e.value)


def test_converter_command_line_on_a_text_file(bad_files, tmp_path):
    rc, log = run_cmd([sys.executable,
                       'tools/model_converters/yolo11_to_mmdet.py',
                       bad_files['text'], str(tmp_path / 'out.pth')])
    assert rc != 0
    assert 'yolo11_to_mmdet: error: ' in log and 'is not a PyTorch ' \
        'checkpoint' in log
    assert 'Traceback' not in log and 'UnpicklingError' not in log


def test_onnx_runner_on_wrong_files(bad_files):
    pytest.importorskip('onnxruntime')
    from mmdet_clipjoint.deployment import ONNXDetector, preprocess_image
    with pytest.raises(ValueError) as e:
        ONNXDetector(bad_files['ckpt'])
    assert f"{bad_files['ckpt']!r} is a PyTorch checkpoint" in str(e.value)
    assert 'tools/deployment/export_onnx.py' in str(e.value)
    with pytest.raises(ValueError) as e:
        ONNXDetector(bad_files['text'])
    assert f"onnxruntime cannot load {bad_files['text']!r} as an ONNX " \
        'model' in str(e.value)
    meta = dict(input_shape=[32, 32], keep_ratio=True, bgr_to_rgb=True,
                mean=[0, 0, 0], std=[1, 1, 1], pad_value=0)
    with pytest.raises(ValueError) as e:
        preprocess_image(bad_files['text'], meta)
    assert f"{bad_files['text']!r} (38 bytes) is not an image that " \
        'OpenCV can read' in str(e.value)
    assert 'NoneType' not in str(e.value)
    assert preprocess_image(bad_files['img'], meta)[0].shape == (3, 32, 32)


def test_onnx_inference_command_line_on_wrong_files(bad_files):
    pytest.importorskip('onnxruntime')
    for model, img, expected in (
            (bad_files['ckpt'], bad_files['img'], 'is a PyTorch checkpoint'),
            (bad_files['text'], bad_files['img'], 'onnxruntime cannot load'),
            (bad_files['ckpt'], bad_files['text'],
             'is not an image that OpenCV can read')):
        rc, log = run_cmd([sys.executable,
                           'tools/deployment/onnx_inference.py', model, img])
        assert rc != 0
        assert 'onnx_inference.py: error: ' in log and expected in log, log
        assert 'Traceback' not in log
