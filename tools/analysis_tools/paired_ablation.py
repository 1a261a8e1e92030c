# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Compare ClipJoint variants of one benchmark directory with the stock and
main ClipJoint runs of another, paired by seed.

``tools/benchmark_accuracy.py`` writes one JSON record per run; a variant
run in its own ``--out`` (an ablation) shares data, stress and seeds with
the main table's runs, so each of its runs has a stock and a ClipJoint twin
there. This prints a markdown table: mAP of the three, the variant minus
each twin paired by seed (mean, 95 % t-interval, on how many seeds the
variant is ahead, and the verdict: win / loss only when the interval
excludes 0) and the variant's ``fuse`` score mode
(:func:`mmdet_clipjoint.benchmark.ablation_table`).

Example (the ablation table of docs/benchmark_accuracy.md):
    python tools/analysis_tools/paired_ablation.py \\
        docs/results/accuracy_cpu docs/results/accuracy_cpu_ablation
"""
import argparse

from mmdet_clipjoint.benchmark import ablation_table, load_runs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('main_out', help='--out of the main benchmark table')
    p.add_argument('variant_out', help='--out of the variant runs')
    args = p.parse_args(argv)
    lines = ablation_table(load_runs(args.main_out),
                           load_runs(args.variant_out))
    print('mAP x 100\n\n' + '\n'.join(lines))
    return lines


if __name__ == '__main__':
    main()
