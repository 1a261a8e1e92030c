# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Plot what training did to the ClipJoint text bank(s) of a checkpoint.

Writes to ``--out-dir`` (PNG figures + ``summary.json``):

* ``similarity.png``: class x class cosine similarity of the learned text
  embeddings next to that of their initialisation;
* ``drift.png``: per-class drift ``1 - cos(init_c, learned_c)``;
* ``temperatures.png``: the learned per-class temperatures (with the
  configured initial value and clamp range);
* ``region_embeddings_pca.png``: a 2-D PCA of the region embeddings of the
  top-scoring RoIs (two-stage heads) or locations (one-stage heads) on a few
  validation images, marked by ground-truth class (RoIs with IoU >= 0.5) or
  by predicted class, with the class text embeddings projected alongside.

The initialisation is re-created from, in this order: ``--init-embeddings``;
the bank's ``embeddings_file`` (``init_source='file'``); for
``init_source='clip'``, the text-embedding cache, a local CLIP checkpoint, or
(with ``--encode-clip``) open_clip's pretrained tag. When none is available
the figures say so in their titles. With several text banks the file names
are prefixed by the bank's module path.

Example::

    python tools/analyze_text_bank.py CONFIG work_dirs/voc/iter_12000.pth \\
        --out-dir work_dirs/voc/text_bank --num-images 16
"""
import argparse
import os
import os.path as osp
from typing import Dict

from mmdet_clipjoint.utils.cli import add_cfg_options, doc_parser, run_main


def parse_args(argv=None) -> argparse.Namespace:
    p = doc_parser(__doc__)
    p.add_argument('config', help='the detector config')
    p.add_argument('checkpoint', help='a trained checkpoint')
    p.add_argument('--out-dir', help='where to write the figures (default: '
                   '<checkpoint dir>/text_bank_analysis)')
    p.add_argument('--init-embeddings',
                   help='embeddings file (.pt/.npy) holding the '
                   'initialisation (overrides the config)')
    p.add_argument('--encode-clip', action='store_true',
                   help='for init_source=clip, allow open_clip to load the '
                   'pretrained tag\'s weights (its cache or the network) to '
                   're-create the initialisation')
    p.add_argument('--num-images', type=int, default=8,
                   help='validation images for the region-embedding plot '
                   '(0: skip that plot)')
    p.add_argument('--per-image', type=int, default=20,
                   help='top-scoring RoIs / locations taken per image')
    p.add_argument('--split', choices=['val', 'test'], default='val',
                   help='which dataloader\'s dataset to sample images from')
    p.add_argument('--device', default='cpu')
    add_cfg_options(p)
    return p.parse_args(argv)


def main(argv=None) -> Dict:
    """Run the analysis; returns the summary also written to JSON."""
    args = parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    from mmengine.config import Config

    import torch

    import mmdet_clipjoint  # noqa: F401
    from mmdet.apis import init_detector
    from mmdet.registry import DATASETS
    from mmdet_clipjoint.analysis import analyze_text_banks

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} not found')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out_dir = args.out_dir or osp.join(
        osp.dirname(osp.abspath(args.checkpoint)), 'text_bank_analysis')
    model = init_detector(cfg, args.checkpoint, device=args.device)
    model.eval()
    dataset = None
    if args.num_images > 0:
        dl = cfg.get(f'{args.split}_dataloader')
        if not dl:
            raise ValueError(f'The config has no {args.split}_dataloader.')
        dataset = DATASETS.build(dl['dataset'])
    try:
        summary = analyze_text_banks(
            model, cfg, out_dir, init_embeddings=args.init_embeddings,
            encode_clip=args.encode_clip, dataset=dataset,
            num_images=args.num_images, per_image=args.per_image,
            meta=dict(config=osp.abspath(args.config),
                      checkpoint=osp.abspath(args.checkpoint)),
            checkpoint_keys=set(torch.load(
                args.checkpoint, map_location='cpu', mmap=True)
                .get('state_dict', {})))
    except ValueError as e:
        raise ValueError(f'{args.config}: {e}') from e
    print(f'Wrote the text-bank analysis to {out_dir}:')
    for fname in sorted(os.listdir(out_dir)):
        print(f'  {fname}')
    return summary


if __name__ == '__main__':
    run_main(main, 'analyze_text_bank')
