# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Detect objects in an image with an exported ONNX model (onnxruntime, CPU).

Pre- and post-processing (resize + pad, normalisation, score threshold,
NMS, rescaling) come from the settings stored in the file by
tools/deployment/export_onnx.py; no config or checkpoint is needed. Boxes
are printed and drawn from a score that suits the exported score mode and
class count (det 0.3, fuse 0.2, clip 0.1 up to 80 classes:
mmdet_clipjoint.apis.default_score_thr; --show-thr sets it); small images
are drawn enlarged, about 360 px.

Examples::

    python tools/deployment/onnx_inference.py rtmdet_fuse.onnx demo.jpg \\
        --out vis.jpg --show-thr 0.3
"""
import argparse

from mmdet_clipjoint.utils.cli import doc_parser, run_main


def parse_args(argv=None) -> argparse.Namespace:
    p = doc_parser(__doc__)
    p.add_argument('model', help='exported .onnx file')
    p.add_argument('img', help='image file')
    p.add_argument('--out', help='save the image with its boxes here')
    p.add_argument('--score-thr', type=float, default=None,
                   help="post-process score threshold (default: the "
                   "exported test_cfg's)")
    p.add_argument('--nms-iou', type=float, default=None,
                   help="NMS IoU threshold (default: the exported "
                   "test_cfg's)")
    p.add_argument('--show-thr', type=float, default=None,
                   help='print and draw detections scoring at least this '
                   '(default: that of the exported score mode, det 0.3, '
                   'fuse 0.2, clip 0.1, lower above 80 classes)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmdet_clipjoint.apis import check_image_file, default_score_thr
    from mmdet_clipjoint.deployment import ONNXDetector
    check_image_file(args.img)
    det = ONNXDetector(args.model, score_thr=args.score_thr,
                       nms_iou=args.nms_iou)
    sample = det(args.img)
    pred = sample.pred_instances
    thr = args.show_thr
    if thr is None:
        thr = default_score_thr(det.meta['score_mode'],
                                det.meta['num_classes'])
    keep = pred.scores >= thr
    names = det.classes or [str(i) for i in range(det.meta['num_classes'])]
    best = f'{float(pred.scores.max()):.3f}' if len(pred) else 'none'
    print(f'{len(pred)} detections, {int(keep.sum())} with score >= '
          f'{thr} (score mode {det.meta["score_mode"]}, best score {best}'
          f'{"" if keep.any() else "; lower --show-thr to show some"}):')
    for box, score, label in zip(pred.bboxes[keep].tolist(),
                                 pred.scores[keep].tolist(),
                                 pred.labels[keep].tolist()):
        print(f'  {names[label]:<20} {score:.3f}  '
              f"[{', '.join(f'{v:.1f}' for v in box)}]")
    if args.out:
        from PIL import Image

        from mmdet_clipjoint.visualization import draw_panel
        h, w = sample.ori_shape
        panel = draw_panel(args.img, pred.bboxes[keep].tolist(),
                           pred.labels[keep].tolist(),
                           pred.scores[keep].tolist(), names,
                           f"{det.meta['head']} ({det.meta['score_mode']}, "
                           f'onnxruntime)\nboxes with score >= {thr} '
                           f'({int(keep.sum())})',
                           max(1, round(360 / max(h, w))), (230, 60, 20))
        Image.fromarray(panel).save(args.out)
        print(f'saved {args.out}')
    return sample


if __name__ == '__main__':
    run_main(main, 'onnx_inference.py')
