# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Detect objects in images with a ClipJoint detector and save the drawings.

Runs :class:`mmdet.apis.DetInferencer` on a ClipJoint config + checkpoint
(no CLIP weights and no network needed: the text bank lives in the
checkpoint). Drawn images go to ``<out-dir>/vis/``, predictions (boxes,
labels, scores) to ``<out-dir>/preds/*.json``.

Examples::

    python demo/image_demo.py demo.jpg CONFIG --weights CKPT --out-dir out/
    # a folder of images, contrastive-branch scores only
    python demo/image_demo.py images/ CONFIG --weights CKPT --score-mode clip
"""
import argparse
from typing import Dict

from mmdet_clipjoint.apis.thresholds import (DEFAULT_SCORE_THR,
                                             REFERENCE_NUM_CLASSES)
from mmdet_clipjoint.utils.cli import add_cfg_options, doc_parser, run_main

__all__ = ['main']


def parse_args(argv=None) -> argparse.Namespace:
    p = doc_parser(__doc__)
    p.add_argument('img', help='an image file, a folder of images or a URL')
    p.add_argument('config', help='a ClipJoint (or any mmdet) config file')
    p.add_argument('--weights', help='checkpoint file')
    p.add_argument('--out-dir', default='outputs',
                   help='output folder (vis/ and preds/ inside)')
    p.add_argument('--device', default='cpu',
                   help='device, e.g. cpu or cuda:0')
    p.add_argument('--pred-score-thr', type=float, default=None,
                   help='draw boxes scoring at least this (default per '
                   'score mode: ' + ', '.join(
                       f'{k} {v}' for k, v in DEFAULT_SCORE_THR.items()) +
                   '; the branch\'s softmax over C+1 entries spreads its '
                   'probability, so clip and fuse scores run lower; above '
                   f'{REFERENCE_NUM_CLASSES} classes their thresholds fall '
                   'as 1/sqrt(C): mmdet_clipjoint.apis.default_score_thr)')
    p.add_argument('--score-mode', choices=['det', 'clip', 'fuse'],
                   help='override the ClipJoint heads\' inference scores: '
                   'det (detector only, branch skipped), clip (contrastive '
                   'branch only) or fuse (both); default: the config\'s')
    p.add_argument('--fuse-alpha', type=float,
                   help='weight of the contrastive scores in fuse mode')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--palette', default='none',
                   choices=['coco', 'voc', 'citys', 'random', 'none'],
                   help='box colours (default: the checkpoint\'s / config\'s)')
    p.add_argument('--show', action='store_true',
                   help='also display the images in a window')
    p.add_argument('--no-save-vis', action='store_true',
                   help='do not save the drawn images')
    p.add_argument('--no-save-pred', action='store_true',
                   help='do not save the prediction JSON files')
    p.add_argument('--print-result', action='store_true')
    add_cfg_options(p)
    return p.parse_args(argv)


def main(argv=None) -> Dict:
    """Run the demo; returns DetInferencer's result dict."""
    args = parse_args(argv)
    import mmdet_clipjoint  # noqa: F401  registers the ClipJoint modules
    from mmdet_clipjoint.apis import (build_inferencer, check_image_input,
                                      default_score_thr, finish_predictions,
                                      score_mode_of)
    from mmdet_clipjoint.models.layers import set_score_mode

    check_image_input(args.img)  # a folder without images, a non-image
    inferencer = build_inferencer(args.config, args.weights, args.device,
                                  args.cfg_options, palette=args.palette)
    if args.score_mode is not None:
        changed = set_score_mode(inferencer.model, args.score_mode,
                                 args.fuse_alpha)
        print(f'score_mode={args.score_mode!r} set on {changed}')
    elif args.fuse_alpha is not None:
        raise ValueError('--fuse-alpha needs --score-mode fuse.')
    mode, num_classes = score_mode_of(inferencer.model)
    thr = args.pred_score_thr
    if thr is None:
        thr = default_score_thr(mode, num_classes)
        print(f'drawing boxes with score >= {thr} (the default of score '
              f'mode {mode!r}; --pred-score-thr changes it)')
    result = inferencer(
        args.img, batch_size=args.batch_size, out_dir=args.out_dir,
        pred_score_thr=thr, show=args.show,
        no_save_vis=args.no_save_vis, no_save_pred=args.no_save_pred,
        print_result=args.print_result)
    finish_predictions(result, inferencer, thr, args.out_dir,
                       not args.no_save_vis, not args.no_save_pred)
    return result


if __name__ == '__main__':
    run_main(main, 'image_demo')
