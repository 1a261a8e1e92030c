# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Train a detector: mmdet's ``tools/train.py`` with mmdet_clipjoint loaded.

A thin wrapper: it imports :mod:`mmdet_clipjoint` (registers the ClipJoint
modules and lets mmengine load its checkpoints under torch >= 2.6) and runs
the ``train.py`` that ships with the installed mmdet (``mmdet/.mim/tools``),
so every flag is mmdet's: ``--work-dir``, ``--resume [CKPT]``, ``--amp``,
``--auto-scale-lr``, ``--cfg-options k=v ...``, ``--launcher
{none,pytorch,slurm,mpi}``.

Examples::

    python tools/train.py configs/clipjoint_faster-rcnn/\\
clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py --work-dir work_dirs/voc
    python tools/train.py CONFIG --resume            # latest in work_dir
    torchrun --nproc_per_node 8 tools/train.py CONFIG --launcher pytorch

Multi-process runs on machines without CUDA (e.g. ``torchrun
--nproc_per_node 2`` on CPU, for debugging) work too: mmengine 0.10 calls
``torch.cuda.set_device`` and gives DDP a CUDA device id unconditionally, so
when CUDA is unavailable this wrapper skips the former, leaves DDP's
``device_ids`` unset and switches an ``nccl`` backend to ``gloo``.
"""
import sys

from mmdet_clipjoint.utils.mmdet_tools import run_mmdet_tool

if __name__ == '__main__':
    if {'-h', '--help'} & set(sys.argv[1:]):
        print(__doc__)
    run_mmdet_tool('train.py')
