# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Test (and evaluate) a detector: mmdet's ``tools/test.py`` with
mmdet_clipjoint loaded.

A thin wrapper like ``tools/train.py``: every flag is mmdet's (``CONFIG
CHECKPOINT``, ``--work-dir``, ``--out results.pkl``, ``--show-dir``,
``--tta``, ``--cfg-options k=v ...``, ``--launcher {none,pytorch,slurm,
mpi}``); checkpoints written by mmengine load under torch >= 2.6.

Examples::

    python tools/test.py CONFIG work_dirs/voc/iter_12000.pth
    python tools/test.py CONFIG CKPT --cfg-options \\
        model.roi_head.bbox_head.score_mode=det       # ablate the fusion
    torchrun --nproc_per_node 8 tools/test.py CONFIG CKPT --launcher pytorch
"""
import sys

from mmdet_clipjoint.utils.mmdet_tools import run_mmdet_tool

if __name__ == '__main__':
    if {'-h', '--help'} & set(sys.argv[1:]):
        print(__doc__)
    run_mmdet_tool('test.py')
