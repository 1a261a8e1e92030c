# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""tools/demo.py (``make demo``) at a tiny scale: arguments are checked
before any work; each model is evaluated once, and the saved config and
checkpoint reproduce the number and the drawn weights; the table and the
picture use one mAP scale and say what the label settings are; the saved
config is named after what it is."""
import os.path as osp
import re
import sys

import pytest
import torch

from ..helpers import load_script
from .conftest import run_cmd

demo = load_script('tools/demo.py')


@pytest.mark.parametrize('argv,message', [
    (['--iters', '0'], "argument --iters: must be at least 1, got 0"),
    (['--iters', '-5'], "argument --iters: must be at least 1, got -5"),
    (['--num-val', '4', '--num-show', '5'], '--num-show (5) must not '
     'exceed --num-val (4)'),
    (['--img-size', '16'], '--img-size must be at least 64, got 16'),
    (['--score-thr', '1.5'], '--score-thr must be in [0, 1], got 1.5'),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, capsys, argv,
                                                   message):
    out = str(tmp_path / 'demo_out')
    with pytest.raises(SystemExit) as info:
        demo.main(argv + ['--out', out])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not osp.exists(out)  # no data generated, nothing trained


@pytest.fixture(scope='module')
def tiny_demo(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo'))
    result = demo.main(['--settings', 'clean', '--iters', '2',
                        '--num-train', '8', '--num-val', '4',
                        '--num-show', '2', '--img-size', '64', '--out', out])
    return dict(result, out=out)


def test_each_model_is_evaluated_once(tiny_demo):
    for method in ('stock', 'clipjoint'):
        with open(osp.join(tiny_demo['out'], f'work_dir_{method}_clean',
                           'console.log')) as f:
            log = f.read()
        assert log.count('Evaluating bbox...') == 1, method
        assert 'coco/bbox_mAP' in tiny_demo['metrics'][('clean', method)]


def test_saved_config_and_checkpoint_reproduce_the_demo(tiny_demo):
    """The drawn model is the checkpoint's (EMA) weights, and tools/test.py
    on the saved config + checkpoint prints the demo's number."""
    config = tiny_demo['configs'][('clean', 'clipjoint')]
    work_dir = osp.dirname(config)
    ckpt = osp.join(work_dir, 'iter_2.pth')
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    drawn = tiny_demo['models']['clipjoint'].state_dict()
    assert set(drawn) == set(state)
    for k, v in drawn.items():
        assert torch.equal(v.cpu(), state[k]), k
    rc, log = run_cmd([sys.executable, 'tools/test.py', config, ckpt,
                       '--work-dir', osp.join(tiny_demo['out'], 'retest')])
    assert rc == 0, log[-3000:]
    found = re.search(r'coco/bbox_mAP: ([0-9.]+)', log)
    mine = tiny_demo['metrics'][('clean', 'clipjoint')]['coco/bbox_mAP']
    assert found and float(found.group(1)) == pytest.approx(mine, abs=1e-4)


def test_saved_config_is_named_after_what_it_is(tiny_demo):
    config = tiny_demo['configs'][('clean', 'clipjoint')]
    assert osp.basename(config) == \
        'clipjoint-rtmdet_tiny_1xb8-2it_semantic-clean-64px.py'
    assert osp.isfile(config)
    stock = tiny_demo['configs'][('clean', 'stock')]
    assert osp.basename(stock) == \
        'rtmdet_tiny_1xb8-2it_semantic-clean-64px.py'
    for work_dir in map(osp.dirname, (config, stock)):
        assert not [f for f in _files(work_dir) if f.endswith('_coco.py')]


def _files(folder):
    import os
    return [f for _, _, fs in os.walk(folder) for f in fs]


def test_table_and_picture_share_one_scale_and_explain_settings(tiny_demo):
    table = tiny_demo['table']
    assert 'COCO box mAP on the validation images, 0-1' in table
    assert 'training labels: clean = the labels as generated' in table
    mine = tiny_demo['metrics'][('clean', 'clipjoint')]['coco/bbox_mAP']
    assert re.search(rf'clean +mAP +[0-9.]+ +{mine:.3f}', table)
    picture = tiny_demo['picture']
    assert osp.isfile(picture['path'])
    assert set(picture['thresholds']) == {'stock', 'clipjoint'}
    assert len(picture['panels']) == 2 * 2


def test_both_labels_are_explained():
    from mmdet_clipjoint.visualization import describe_setting
    assert describe_setting('both') == (
        'both = long tail (most / least frequent class 50:1) + 30 % of the '
        'training labels flipped to another class')


def test_semantic_world_by_default(tiny_demo):
    """The demo draws real COCO names as emoji and starts the ClipJoint
    bank from their shipped CLIP rows."""
    import json
    with open(osp.join(tiny_demo['out'], 'data', 'annotations',
                       'instances_val.json')) as f:
        names = [c['name'] for c in json.load(f)['categories']]
    assert names == list(demo.DEMO_CLASSES)
    bank = [m for m in tiny_demo['models']['clipjoint'].modules()
            if type(m).__name__ == 'ContrastiveTextBank'][0]
    assert bank.init_source == 'vocabulary' and bank.vocabulary == 'coco'


def test_shapes_world_is_still_there(tmp_path):
    args = demo.parse_args(['--world', 'shapes', '--num-train', '2',
                            '--num-val', '1', '--num-show', '1',
                            '--img-size', '64', '--out', str(tmp_path)])
    data, text_init = demo.make_demo_data(args)
    assert text_init is None  # meaningless names: a random bank
    assert not set(data['classes']) & set(demo.DEMO_CLASSES)
    assert osp.isfile(osp.join(str(tmp_path), 'data', 'annotations',
                               'instances_train.json'))
