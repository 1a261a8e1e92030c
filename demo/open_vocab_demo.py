# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Detect objects under class names the detector was not trained with.

Loads a trained ClipJoint detector with :class:`mmdet.apis.DetInferencer`,
swaps its text bank for another vocabulary
(:func:`mmdet_clipjoint.apis.set_vocabulary`: the detector says where an
object is, the text bank which of the new names it is) and draws the
detections under the new names. Drawn images go to ``<out-dir>/vis/``,
predictions (with ``label_names``) to ``<out-dir>/preds/*.json``;
``--sheet FILE.png`` also draws all images side by side at a readable size
(:func:`mmdet_clipjoint.visualization.draw_prediction_sheet`: small images
enlarged, each box under its new name and score).

``--vocabulary`` is a shipped CLIP vocabulary (``coco``, ``lvis``,
``objects365``, ``voc``: offline), a text file with one class name per line
(embedded from the shipped vocabularies when they name every class, else by
open_clip, which needs ``--clip-pretrained`` weights), optionally with
``--embeddings`` (a file written by ``tools/dump_text_embeddings.py``).

Boxes are drawn from a ``clip`` score that suits the vocabulary's size:
0.1 up to 80 names, then falling as 1/sqrt(C) (Objects365, 365 names:
0.047; LVIS, 1203 names: 0.026), since the bank's softmax spreads its
probability over more names (``mmdet_clipjoint.apis.default_score_thr``;
``--pred-score-thr`` sets it). An image with no box above it is reported
with its best score.

Examples::

    python demo/open_vocab_demo.py demo.jpg CONFIG --weights CKPT \\
        --vocabulary lvis
    python demo/open_vocab_demo.py images/ CONFIG --weights CKPT \\
        --vocabulary lvis --sheet lvis.png
    python demo/open_vocab_demo.py images/ CONFIG --weights CKPT \\
        --vocabulary names.txt --clip-pretrained /path/to/ViT-B-32.pt
"""
import argparse
import os.path as osp
from typing import Dict

from mmdet_clipjoint.utils.cli import add_cfg_options, doc_parser, run_main

__all__ = ['main']


def parse_args(argv=None) -> argparse.Namespace:
    p = doc_parser(__doc__)
    p.add_argument('img', help='an image file or a folder of images')
    p.add_argument('config', help='a ClipJoint config file')
    p.add_argument('--weights', required=True, help='checkpoint file')
    p.add_argument('--vocabulary', required=True,
                   help='coco | lvis | objects365 | voc | a names file')
    p.add_argument('--embeddings', default=None,
                   help='text embeddings of the names (.pt / .npy)')
    p.add_argument('--clip-model', default='ViT-B-32')
    p.add_argument('--clip-pretrained', default='openai',
                   help='open_clip tag or local checkpoint, for names no '
                   'shipped vocabulary has')
    p.add_argument('--out-dir', default='outputs/open_vocab',
                   help='output folder (vis/ and preds/ inside)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--pred-score-thr', type=float, default=None,
                   help='draw boxes scoring at least this (default: 0.1 up '
                   'to 80 names, then 0.1 * sqrt(80 / C): LVIS 0.026; clip '
                   "scores are the bank's softmax over the new names times "
                   "the detector's confidence, and large vocabularies "
                   'spread it thin)')
    p.add_argument('--sheet', default=None, metavar='FILE.png',
                   help='also draw the images side by side, enlarged to '
                   'about 360 px, with the boxes drawn (a picture for docs)')
    p.add_argument('--no-save-vis', action='store_true')
    p.add_argument('--no-save-pred', action='store_true')
    add_cfg_options(p)
    return p.parse_args(argv)


def main(argv=None) -> Dict:
    """Run the demo; returns DetInferencer's result dict (predictions with
    ``label_names``)."""
    args = parse_args(argv)
    import mmdet_clipjoint  # noqa: F401  registers the ClipJoint modules
    from mmdet_clipjoint.apis import (build_inferencer, check_image_input,
                                      default_score_thr, finish_predictions,
                                      set_vocabulary)

    # a folder without images, a non-image: clear errors
    paths = check_image_input(args.img)
    inferencer = build_inferencer(args.config, args.weights, args.device,
                                  args.cfg_options)
    names = set_vocabulary(inferencer, args.vocabulary, args.embeddings,
                           clip_model=args.clip_model,
                           clip_pretrained=args.clip_pretrained)
    print(f'vocabulary: {len(names)} class names ({", ".join(names[:5])}'
          f'{", ..." if len(names) > 5 else ""}); score_mode=clip')
    thr = args.pred_score_thr
    if thr is None:
        thr = default_score_thr('clip', len(names))
        print(f'drawing boxes with score >= {thr} (the default for '
              f'{len(names)} names; --pred-score-thr changes it)')
    # the sheet needs the images in a known order (a folder's listing by
    # DetInferencer is unordered)
    result = inferencer(paths if args.sheet else args.img,
                        out_dir=args.out_dir, pred_score_thr=thr,
                        no_save_vis=args.no_save_vis,
                        no_save_pred=args.no_save_pred)
    finish_predictions(result, names, thr, args.out_dir,
                       not args.no_save_vis, not args.no_save_pred)
    if args.sheet:
        from mmdet_clipjoint.visualization import draw_prediction_sheet
        vocab = osp.basename(args.vocabulary)
        draw_prediction_sheet(
            paths, result['predictions'], thr, args.sheet,
            title=f'{vocab} vocabulary ({len(names)} names), '
            f'score >= {thr:g}')
        print(f'sheet of {len(paths)} images: {args.sheet}')
    for i, pred in enumerate(result.get('predictions', [])):
        top = sorted(zip(pred.get('scores', []), pred.get('label_names',
                                                          [])),
                     reverse=True)[:5]
        print(f'image {i}: ' + (', '.join(f'{n} {s:.3f}' for s, n in top)
                                or 'no detections'))
    return result


if __name__ == '__main__':
    run_main(main, 'open_vocab_demo')
