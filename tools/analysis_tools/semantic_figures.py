# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Figures of the semantic benchmark (docs/benchmark_semantic.md).

Examples:
    # every class of the emoji tables with its picture
    python tools/analysis_tools/semantic_figures.py sheets docs/images
    # six training images of a preset's long-tailed split (rare in red)
    python tools/analysis_tools/semantic_figures.py strip \\
        docs/images/semantic_examples.png --preset semantic-cpu \\
        --data docs/results/semantic_cpu/data
    # per rare class: AP - stock against its CLIP neighbour similarity
    python tools/analysis_tools/semantic_figures.py rare \\
        docs/images/semantic_rare_vs_neighbour.png \\
        --runs docs/results/semantic_cpu --preset semantic-cpu
    # per class: AP of each arm (mean over seeds), a markdown table
    python tools/analysis_tools/semantic_figures.py classes - \\
        --runs docs/results/semantic_cpu --methods stock clipjoint \\
        clipjoint-random-text clipjoint-permuted
"""
import argparse
import os
import os.path as osp

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark.accuracy_report import (load_runs,
                                                       per_class_table)
from mmdet_clipjoint.benchmark.presets import (PRESETS, get_preset,
                                               prepare_benchmark_data,
                                               preset_class_order,
                                               preset_classes, rare_classes)
from mmdet_clipjoint.datasets import COCO_EMOJI, SOURCE_EMOJI
from mmdet_clipjoint.visualization import (draw_class_sheet,
                                           draw_example_strip,
                                           plot_rare_vs_neighbour)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('figure', choices=['sheets', 'strip', 'rare', 'classes'])
    p.add_argument('out', help='output folder (sheets), PNG file, or '
                   'markdown file (classes; - prints it)')
    p.add_argument('--preset', default='semantic-cpu',
                   choices=[k for k in PRESETS if k.startswith('semantic')])
    p.add_argument('--data', default=None,
                   help='strip: where the preset data is (generated there '
                   'when missing; default outputs/semantic_figures)')
    p.add_argument('--runs', default=None,
                   help='rare: a benchmark output folder (its runs/)')
    p.add_argument('--setting', default='imbalanced')
    p.add_argument('--detector', default='rtmdet')
    p.add_argument('--methods', nargs='+',
                   default=['stock', 'clipjoint', 'clipjoint-random-text',
                            'clipjoint-permuted'],
                   help='classes: the columns (stock first)')
    args = p.parse_args(argv)
    if args.figure in ('rare', 'classes') and not args.runs:
        p.error(f'the {args.figure} figure needs --runs DIR (a benchmark '
                '--out)')
    return args


def main(argv=None):
    args = parse_args(argv)
    preset = get_preset(args.preset)
    classes = preset_classes(preset)
    rare = rare_classes(classes, preset_class_order(preset))
    if args.figure == 'sheets':
        os.makedirs(args.out, exist_ok=True)
        for name, table in (('coco', COCO_EMOJI), ('source', SOURCE_EMOJI)):
            path = draw_class_sheet(
                table, osp.join(args.out, f'semantic_{name}_classes.png'))
            print(f'{len(table)} classes -> {path}')
        return
    if args.figure == 'strip':
        data = prepare_benchmark_data(
            args.data or 'outputs/semantic_figures/data', preset)
        split = dict(data, **data['longtail']) if 'longtail' in data \
            else data
        path = draw_example_strip(split, args.out, rare=rare)
    elif args.figure == 'classes':
        md = '\n'.join(per_class_table(load_runs(args.runs), classes,
                                       args.methods, args.setting,
                                       args.detector, rare)) + '\n'
        if args.out == '-':
            print(md, end='')
            return
        with open(args.out, 'w') as f:
            f.write(md)
        path = args.out
    else:
        path = plot_rare_vs_neighbour(load_runs(args.runs), classes, rare,
                                      args.out, args.setting, args.detector)
    print(f'-> {path}')


if __name__ == '__main__':
    main()
