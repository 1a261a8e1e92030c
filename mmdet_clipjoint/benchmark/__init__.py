# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Measuring ClipJoint against its stock twin: experiments, presets and
stress settings, the synthetic pre-training, paired statistics, the
accuracy and speed benchmarks and their reports, and the gradient-share
probe. The scripts under ``tools/`` are thin command lines over it."""
from .accuracy import check_methods, run_accuracy_benchmark
from .accuracy_report import ablation_table, load_runs, write_report
from .experiments import (CLIPJOINT_VARIANTS, DETECTORS, SETTINGS,
                          build_experiment_cfg, run_experiment)
from .grad_share import BRANCH_LOSSES, branch_grad_share
from .presets import PRESETS, get_preset
from .speed import run_speed_benchmark, speed_settings
from .speed_detectors import SCORE_MODES, SPEED_DETECTORS, SPEED_PRESETS
from .stats import format_paired, paired_diff, t_quantile

__all__ = [
    'check_methods', 'run_accuracy_benchmark', 'ablation_table', 'load_runs',
    'write_report', 'CLIPJOINT_VARIANTS', 'DETECTORS', 'SETTINGS',
    'build_experiment_cfg', 'run_experiment', 'BRANCH_LOSSES',
    'branch_grad_share', 'PRESETS', 'get_preset', 'format_paired',
    'paired_diff', 't_quantile', 'run_speed_benchmark', 'speed_settings',
    'SCORE_MODES', 'SPEED_DETECTORS', 'SPEED_PRESETS'
]
