# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Convert an Ultralytics YOLO11 detection checkpoint to an mmdet one.

The output loads into ``configs/yolo11/yolo11_<scale>_*.py`` (same scale and
class count; the scale and class count are printed) with ``load_from`` or
``--cfg-options load_from=...``, and into the ClipJoint-YOLO11 configs (the
branch and the text bank then start from their own initialisation). The
input is a full Ultralytics checkpoint (``yolo11n.pt``, needs the
``ultralytics`` package to unpickle) or a plain ``state_dict`` file.

Examples::

    python tools/model_converters/yolo11_to_mmdet.py yolo11n.pt \\
        checkpoints/yolo11n_mmdet.pth
    python tools/train.py configs/yolo11/yolo11_n_8xb16-600e_coco.py \\
        --cfg-options load_from=checkpoints/yolo11n_mmdet.pth
"""
import os
import os.path as osp

import torch

from mmdet_clipjoint.utils.cli import doc_parser, run_main


def main() -> None:
    from mmdet_clipjoint.models.utils.yolo11_convert import (
        convert_yolo11_state_dict, load_ultralytics_state_dict,
        yolo11_arch_of)
    p = doc_parser(__doc__)
    p.add_argument('src', help='Ultralytics checkpoint (.pt) or state dict')
    p.add_argument('dst', help='output mmdet checkpoint (.pth)')
    args = p.parse_args()
    src = load_ultralytics_state_dict(args.src)
    arch, num_classes = yolo11_arch_of(src)
    state_dict = convert_yolo11_state_dict(src)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.tmp'
    torch.save(
        dict(state_dict=state_dict,
             meta=dict(source=osp.basename(args.src), arch=f'yolo11{arch}',
                       num_classes=num_classes,
                       converter='tools/model_converters/yolo11_to_mmdet.py')),
        tmp)
    os.replace(tmp, args.dst)
    print(f'YOLO11-{arch}, {num_classes} classes, {len(state_dict)} tensors '
          f'-> {args.dst}')


if __name__ == '__main__':
    run_main(main, 'yolo11_to_mmdet')
