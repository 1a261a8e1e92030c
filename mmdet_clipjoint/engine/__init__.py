# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .data_checks import (check_run_data, coco_annotation_files,
                          install_runner_data_checks, run_loops)
from .hooks import (AtomicCheckpointHook, ClipJointHook, RNGStateHook,
                    TextBankInitHook)

# every Runner of a ClipJoint model checks its annotation files before it
# builds a dataset (tools/train.py, mim train, ...): see data_checks
install_runner_data_checks()

__all__ = [
    'TextBankInitHook', 'ClipJointHook', 'AtomicCheckpointHook',
    'RNGStateHook', 'check_run_data', 'coco_annotation_files',
    'install_runner_data_checks', 'run_loops'
]
