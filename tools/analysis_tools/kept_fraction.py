# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The fraction of locations a trained one-stage ClipJoint detector embeds
in sparse fuse / clip scoring (the speed benchmark's --kept-fraction).

Example (a checkpoint of `make demo`, its validation images):
    python tools/analysis_tools/kept_fraction.py \\
        outputs/demo/work_dir_clipjoint_clean/CONFIG.py \\
        outputs/demo/work_dir_clipjoint_clean/iter_300.pth \\
        outputs/demo/data/val
then time that workload:
    python tools/benchmark_speed.py --detectors rtmdet --kept-fraction F
"""
import json

from mmdet_clipjoint.utils.cli import doc_parser, run_main


def main(argv=None) -> dict:
    p = doc_parser(__doc__)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('images', help='an image file or a folder of images')
    p.add_argument('--score-thr', type=float, default=None,
                   help='default: the config\'s test_cfg.score_thr')
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default=None, help='write the result as JSON')
    args = p.parse_args(argv)

    import mmdet_clipjoint  # noqa: F401
    from mmdet.apis import init_detector
    from mmdet_clipjoint.analysis import kept_fractions
    from mmdet_clipjoint.apis import check_image_input
    images = check_image_input(args.images)
    model = init_detector(args.config, args.checkpoint, device=args.device)
    res = kept_fractions(model, images, args.score_thr)
    print(f'{len(images)} images, score_thr {res["score_thr"]}: kept '
          f'fraction mean {res["mean"]:.4f}, median {res["median"]:.4f}, '
          f'max {res["max"]:.4f} (of {res["locations"][0]} locations per '
          'image)\nspeed at this workload: python tools/benchmark_speed.py '
          f'--kept-fraction {max(res["mean"], 1e-4):.4f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == '__main__':
    run_main(main, 'kept_fraction')
