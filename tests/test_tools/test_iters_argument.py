# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""``--iters`` must be >= 1 in every tool that has it: 0 is not "not given"
(the full default schedule) and a negative value does not reach a run."""
import pytest

from mmdet_clipjoint.utils.cli import positive_int

from ..helpers import load_script


def test_positive_int():
    assert positive_int('3') == 3
    for bad, msg in (('0', 'must be at least 1, got 0'),
                     ('-5', 'must be at least 1, got -5'),
                     ('2.5', "'2.5' is not an integer")):
        with pytest.raises(Exception, match=msg):
            positive_int(bad)


@pytest.mark.parametrize('script,argv', [
    ('tools/demo.py', []),
    ('tools/benchmark_accuracy.py', []),
    ('tools/analysis_tools/learning_curve.py', ['rtmdet', 'stock']),
    ('tools/analysis_tools/score_mode_probe.py', []),
])
@pytest.mark.parametrize('iters', ['0', '-5'])
def test_iters_below_one_is_refused(script, argv, iters, capsys):
    tool = load_script(script)
    parse = getattr(tool, 'parse_args', None) or tool.main
    with pytest.raises(SystemExit) as info:
        parse(argv + ['--iters', iters])
    assert info.value.code == 2
    assert f'argument --iters: must be at least 1, got {iters}' in \
        capsys.readouterr().err
