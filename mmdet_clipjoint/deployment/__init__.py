# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Deployment: ONNX export of the one-stage detectors and an onnxruntime
runner (``pip install "mmdet_clipjoint[deploy]"``; ``onnx`` and
``onnxruntime`` are imported only when used, so importing this package
needs neither)."""
from .onnx_export import (INPUT_NAME, META_KEY, OUTPUT_NAMES,
                          SUPPORTED_HEADS, ONNXExportWrapper, build_detector,
                          check_export_config, check_input_shape, export_meta,
                          export_onnx, infer_input_shape)
from .onnx_runtime import (ONNXDetector, check_onnx_file,
                           compare_with_pytorch, preprocess_image,
                           random_inputs, read_onnx_meta)

__all__ = [
    'INPUT_NAME', 'META_KEY', 'OUTPUT_NAMES', 'SUPPORTED_HEADS',
    'ONNXExportWrapper', 'build_detector', 'check_export_config',
    'check_input_shape', 'export_meta', 'export_onnx', 'infer_input_shape',
    'ONNXDetector', 'compare_with_pytorch', 'preprocess_image',
    'random_inputs', 'read_onnx_meta', 'check_onnx_file'
]
