# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Export a one-stage detector (RTMDet, YOLOX, YOLO11; stock or ClipJoint) to ONNX.

The graph maps normalised images ``inputs`` (B, 3, H, W) to ``boxes``
(B, N, 4) xyxy input pixels and ``scores`` (B, N, C) of every location, with
``--score-mode`` applied (``clip`` / ``fuse``: the ClipJoint branch over every
location, the text bank folded in as constants). Thresholding, top-k, NMS and
rescaling run outside the graph: ``mmdet_clipjoint.deployment.ONNXDetector``
(or tools/deployment/onnx_inference.py) does them with the settings stored in
the file. See docs/deployment.md.

Examples::

    python tools/deployment/export_onnx.py \\
        configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py \\
        work_dirs/rtmdet/epoch_300.pth --out rtmdet_fuse.onnx \\
        --score-mode fuse --shape 640 640 --dynamic-batch --check
"""
import argparse

from mmdet_clipjoint.utils.cli import add_cfg_options, doc_parser, run_main


def parse_args(argv=None) -> argparse.Namespace:
    p = doc_parser(__doc__)
    p.add_argument('config', help='detector config file')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--out', required=True, help='output .onnx file')
    p.add_argument('--score-mode', default='det',
                   choices=('det', 'clip', 'fuse'),
                   help='scores in the graph (clip / fuse need a ClipJoint '
                   'head; default: det)')
    p.add_argument('--fuse-alpha', type=float, default=None,
                   help="weight of the contrastive scores in fuse mode "
                   "(default: the head's)")
    p.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                   help="input size, multiples of the largest stride "
                   "(default: the config's test pipeline size)")
    p.add_argument('--dynamic-batch', action='store_true',
                   help='dynamic batch dimension (default: batch 1)')
    p.add_argument('--opset', type=int, default=17,
                   help='ONNX opset version (default: 17)')
    p.add_argument('--check', action='store_true',
                   help='run the exported file with onnxruntime on random '
                   'images and print its largest differences from PyTorch')
    add_cfg_options(p)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmengine.config import Config

    from mmdet_clipjoint.deployment import (build_detector,
                                            check_export_config,
                                            compare_with_pytorch,
                                            export_onnx)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_export_config(cfg, args.score_mode)  # before loading anything
    model = build_detector(cfg, args.checkpoint)
    meta = export_onnx(model, args.out, score_mode=args.score_mode,
                       shape=args.shape, dynamic_batch=args.dynamic_batch,
                       opset=args.opset, fuse_alpha=args.fuse_alpha)
    H, W = meta['input_shape']
    batch = 'B (dynamic)' if meta['dynamic_batch'] else '1'
    n = sum(meta['level_sizes'])
    print(f"exported {args.out}: {meta['head']}, score_mode "
          f"{meta['score_mode']}, opset {meta['opset']}; inputs "
          f"({batch}, 3, {H}, {W}) -> boxes ({batch}, {n}, 4), scores "
          f"({batch}, {n}, {meta['num_classes']})")
    if args.check:
        diff = compare_with_pytorch(args.out, model, batch=2)
        meta['check'] = diff
        print(f"onnxruntime vs PyTorch on {diff['batch']} random image(s): "
              f"max |boxes diff| = {diff['boxes']:.3g} px, "
              f"max |scores diff| = {diff['scores']:.3g}")
    return meta


if __name__ == '__main__':
    run_main(main, 'export_onnx.py')
