# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""README: how long ``make demo`` takes and how to read what it writes,
consistent with tools/demo.py's defaults; the Results section is a
two-sentence summary followed by a table."""
import os.path as osp
import re

from ..helpers import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _section(heading):
    with open(osp.join(ROOT, 'README.md')) as f:
        text = f.read()
    assert heading in text, heading
    start = text.index(heading) + len(heading)
    level = heading.split(' ')[0] + ' '
    ends = [m.start() for m in re.finditer(r'^#{1,%d} ' % len(level.strip()),
                                           text[start:], re.M)]
    return text[start:start + ends[0]] if ends else text[start:]


def test_readme_says_how_long_the_demo_takes_and_how_to_read_it():
    sec = _section('### What `make demo` shows, and how to read it')
    flat = ' '.join(sec.split())
    assert re.search(r'takes about \d+ minutes on an idle 2-core CPU', flat)
    demo = load_script('tools/demo.py')
    args = demo.parse_args([])
    iters = demo.DEFAULT_ITERS[args.detector]
    assert (f'{args.num_train} training and {args.num_val} validation '
            f'images of {args.img_size} px') in flat
    assert f'for {iters} iterations each' in flat
    assert f'iter_{iters}.pth' in flat
    data = demo._DATA_NAMES[args.world]
    assert (f'clipjoint-rtmdet_tiny_1xb8-{iters}it_{data}-both-'
            f'{args.img_size}px.py') in flat
    assert ', '.join(demo.DEMO_CLASSES[:-1]) in flat
    assert 'as fractions (0-1, the scale mmdet and `mim test` print)' in flat
    assert f'on {args.num_show} validation images' in flat
    # the table of outputs
    assert '| output | what it is | how to read it |' in sec


def test_readme_results_are_a_two_sentence_summary_and_a_table():
    sec = _section('## Results').strip()
    summary, rest = sec.split('\n\n', 1)
    assert summary.startswith('**In short**')
    sentences = [s for s in re.split(r'(?<=\.)\s+', ' '.join(summary.split()))
                 if s]
    assert len(sentences) == 2, sentences
    assert '| question | result | details |' in rest
    rows = [ln for ln in rest.splitlines() if ln.startswith('| ')]
    assert len(rows) >= 8  # header + the measured results
