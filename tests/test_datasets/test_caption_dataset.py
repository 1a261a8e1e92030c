# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The open-vocabulary synthetic set (captions + partial boxes), the caption
dataset and hybrid detection / caption batches (issue 15)."""
import copy
import hashlib
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmdet_clipjoint  # noqa: F401  (registers CaptionPhraseDataset)
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmdet_clipjoint.datasets import (SYNTHETIC_OPEN_VOCAB_CLASSES,
                                      SYNTHETIC_OPEN_VOCAB_UNSEEN,
                                      SYNTHETIC_SOURCE_CLASSES,
                                      CaptionPhraseDataset, extract_phrases,
                                      make_synthetic_caption_dataset,
                                      make_synthetic_dataset)
from mmdet_clipjoint.datasets import synthetic
from ..helpers import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAIN_CFG = osp.join(ROOT, 'configs', 'clipjoint_open_vocab',
                    'clipjoint-rtmdet_tiny_word-region_8xb8-30e_synthetic-ov.py')
BASE_CFG = osp.join(ROOT, 'configs', '_base_', 'datasets',
                    'synthetic_open_vocab.py')
N_DET, N_CAP, N_VAL = 8, 12, 9

register_all_modules()


def _load(root, rel):
    with open(osp.join(root, rel)) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def ov(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('open_vocab'))
    return make_synthetic_caption_dataset(
        root, num_det_train=N_DET, num_caption_train=N_CAP, num_val=N_VAL,
        img_size=(256, 256), seed=0)


def test_vocabulary_is_a_latin_square():
    assert len(SYNTHETIC_OPEN_VOCAB_CLASSES) == 9
    assert set(SYNTHETIC_OPEN_VOCAB_UNSEEN) < set(SYNTHETIC_OPEN_VOCAB_CLASSES)
    colours = [c.split()[0] for c in SYNTHETIC_OPEN_VOCAB_UNSEEN]
    shapes = [c.split()[1] for c in SYNTHETIC_OPEN_VOCAB_UNSEEN]
    assert sorted(colours) == ['blue', 'green', 'red']
    assert sorted(shapes) == ['circle', 'square', 'triangle']


def test_generator_is_deterministic(tmp_path):
    def gen(name, seed):
        return make_synthetic_caption_dataset(
            str(tmp_path / name), num_det_train=2, num_caption_train=5,
            num_val=2, img_size=(64, 64), seed=seed)

    def text(info, key):
        with open(osp.join(info['data_root'], info[key])) as f:
            return f.read()

    a, b, c = gen('a', 4), gen('b', 4), gen('c', 5)
    for key in ('caption_ann_file', 'det_ann_file', 'val_ann_file',
                'caption_debug_ann_file'):
        assert text(a, key) == text(b, key), key
    assert text(a, 'caption_ann_file') != text(c, 'caption_ann_file')


def test_detection_split_has_only_box_classes(ov):
    coco = _load(ov['data_root'], ov['det_ann_file'])
    names = {c['id']: c['name'] for c in coco['categories']}
    # every class is a category (ids shared with val), in order
    assert [c['name'] for c in coco['categories']] == \
        list(SYNTHETIC_OPEN_VOCAB_CLASSES)
    used = {names[a['category_id']] for a in coco['annotations']}
    assert used == set(ov['box_classes'])
    assert not used & set(SYNTHETIC_OPEN_VOCAB_UNSEEN)
    assert set(ov['unseen_classes']) == set(SYNTHETIC_OPEN_VOCAB_UNSEEN)
    assert len(coco['images']) == N_DET


def test_captions_name_every_class_with_class_name_phrases(ov):
    caps = _load(ov['data_root'], ov['caption_ann_file'])
    debug = _load(ov['data_root'], ov['caption_debug_ann_file'])
    classes = list(SYNTHETIC_OPEN_VOCAB_CLASSES)
    assert len(caps) == N_CAP
    mentioned = set()
    for k, cap in enumerate(caps):
        assert set(cap) == {'image', 'caption', 'phrases', 'width', 'height'}
        assert osp.isfile(osp.join(ov['data_root'], ov['caption_img_prefix'],
                                   cap['image']))
        assert cap['phrases'], cap
        for p in cap['phrases']:
            assert p in classes and p in cap['caption'], (p, cap)
        assert len(set(cap['phrases'])) == len(cap['phrases'])
        # the phrases are exactly the classes of the objects drawn
        drawn = {classes[a['category_id'] - 1]
                 for a in debug['annotations'] if a['image_id'] == k + 1}
        assert set(cap['phrases']) == drawn, (cap, drawn)
        # the chunker finds the same phrases in the text
        assert extract_phrases(cap['caption'], classes) == cap['phrases']
        mentioned |= set(cap['phrases'])
    assert mentioned == set(classes)
    counts = ov['caption_class_counts']
    for name in SYNTHETIC_OPEN_VOCAB_UNSEEN:
        assert counts[name] >= N_CAP // len(classes) + 1, counts
    assert counts == {c: sum(c in x['phrases'] for x in caps)
                      for c in classes}
    words = ' '.join(c['caption'] for c in caps)
    assert 'striped' in words or 'dotted' in words


def test_caption_relations_follow_the_boxes():
    left = dict(bbox=[0, 40, 10, 10])
    right = dict(bbox=[60, 42, 10, 10])
    top = dict(bbox=[40, 0, 10, 10])
    assert synthetic._relation(left, right) == 'to the left of'
    assert synthetic._relation(right, left) == 'to the right of'
    assert synthetic._relation(top, right) == 'above'
    assert synthetic._relation(right, top) == 'below'


def test_val_has_boxes_of_every_class(ov):
    coco = _load(ov['data_root'], ov['val_ann_file'])
    names = {c['id']: c['name'] for c in coco['categories']}
    assert {names[a['category_id']] for a in coco['annotations']} == \
        set(SYNTHETIC_OPEN_VOCAB_CLASSES)
    assert len(coco['images']) == N_VAL


def test_bad_box_classes_are_rejected(tmp_path):
    with pytest.raises(ValueError, match='subset'):
        make_synthetic_caption_dataset(str(tmp_path), box_classes=['pink x'])
    with pytest.raises(ValueError, match='box_classes'):
        make_synthetic_caption_dataset(
            str(tmp_path), classes=['red circle', 'red star'])


def _sha1_of(info):
    h = hashlib.sha1()
    for split in ('train', 'val'):
        with open(osp.join(info['data_root'], info[f'{split}_ann_file']),
                  'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def test_old_generator_output_unchanged(tmp_path):
    """Digests recorded with the generator before the caption set was added
    (``git show HEAD:mmdet_clipjoint/datasets/synthetic.py``, run on the
    same arguments); the decoded images were compared then as well."""
    cases = {
        'd88e57c8bc21a8d19f96d91e19d62d8373da0ec9':
        dict(num_train=5, num_val=2, img_size=(96, 80), seed=7),
        'f546465a3eae44042fa1a45454ad51aa008a2c87':
        dict(num_train=4, num_val=2, img_size=(64, 64), seed=2,
             texture='dots', texture_prob=0.8,
             class_weights=[5] + [1] * 11),
        '36d0758fb0cfb271a19f66d5a6871b413db8fd76':
        dict(num_train=3, num_val=1, img_size=(64, 64), seed=1,
             classes=SYNTHETIC_SOURCE_CLASSES),
    }
    for k, (digest, kw) in enumerate(cases.items()):
        info = make_synthetic_dataset(str(tmp_path / str(k)), **kw)
        assert _sha1_of(info) == digest, kw


def test_renderer_defaults_keep_the_random_stream():
    """The new renderer options at their defaults give the same pixels,
    boxes and following random numbers as not passing them."""
    args = (64, 64, synthetic.SYNTHETIC_CLASSES, (2, 4), (0.15, 0.45), 2)
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    img_a, anns_a = synthetic._render_image(rng_a, *args)
    img_b, anns_b = synthetic._render_image(rng_b, *args, first_labels=(),
                                            with_texture=False)
    assert anns_a == anns_b
    assert (np.asarray(img_a) == np.asarray(img_b)).all()
    assert rng_a.uniform() == rng_b.uniform()
    # with_texture only adds a flag; first_labels fixes the first label
    rng_c = np.random.default_rng(3)
    _, anns_c = synthetic._render_image(rng_c, *args, with_texture=True)
    assert [dict(a, textured=None) for a in anns_a] == \
        [dict(a, textured=None) for a in anns_c]
    _, anns_d = synthetic._render_image(np.random.default_rng(3), *args,
                                        first_labels=(11, ))
    assert anns_d[0]['label'] == 11


def test_extract_phrases_rule():
    vocab = ['square', 'red square', 'blue circle', 'traffic light',
             'red traffic light']
    assert extract_phrases('Two RED squares left of a striped blue circle.',
                           vocab) == ['red square', 'blue circle']
    # longest span wins; each phrase once, in order of first mention
    assert extract_phrases('a red traffic light, a square and a red square',
                           vocab) == ['red traffic light', 'square',
                                      'red square']
    assert extract_phrases('traffic lights next to squares', vocab) == \
        ['traffic light', 'square']
    # whole words only
    assert extract_phrases('a reddish squareish thing', vocab) == []
    assert extract_phrases('a red square', []) == []
    assert extract_phrases('three red crosses', ['red cross']) == \
        ['red cross']


def _caption_cfg(ov, **kw):
    base = Config.fromfile(BASE_CFG)
    cfg = dict(copy.deepcopy(base.ov_caption_train_dataset),
               data_root=ov['data_root'] + '/')
    cfg.update(kw)
    return cfg


def test_caption_dataset_builds_packs_and_preprocesses(ov):
    ds = DATASETS.build(_caption_cfg(ov))
    assert isinstance(ds, CaptionPhraseDataset)
    caps = _load(ov['data_root'], ov['caption_ann_file'])
    assert len(ds) == N_CAP  # filter_cfg drops no box-less image
    info = ds.get_data_info(1)
    assert info['instances'] == [] and info['img_id'] == '000001'
    assert (info['width'], info['height']) == (256, 256)
    assert info['gt_caption'] == caps[1]['caption']
    assert info['phrases'] == caps[1]['phrases']
    assert info['img_path'].endswith('caption_train/000001.jpg')
    packed = [ds[i] for i in range(3)]
    for k, p in enumerate(packed):
        sample = p['data_samples']
        assert sample.metainfo['phrases'] == caps[k]['phrases']
        assert sample.metainfo['gt_caption'] == caps[k]['caption']
        # half resolution (256 -> 128), an empty ground truth of the
        # usual fields
        assert p['inputs'].shape == (3, 128, 128)
        assert sample.gt_instances.bboxes.shape == (0, 4)
        assert sample.gt_instances.labels.shape == (0, )
    pre = MODELS.build(
        dict(type='DetDataPreprocessor', mean=[103.5, 116.3, 123.7],
             std=[57.4, 57.1, 58.4], bgr_to_rgb=False, pad_size_divisor=32))
    out = pre(dict(inputs=[p['inputs'] for p in packed],
                   data_samples=[p['data_samples'] for p in packed]), True)
    assert out['inputs'].shape == (3, 3, 128, 128)
    assert out['inputs'].dtype == torch.float32
    for s in out['data_samples']:
        assert s.batch_input_shape == (128, 128)
        assert 'phrases' in s.metainfo and len(s.gt_instances) == 0


def test_caption_dataset_chunks_and_reads_sizes(ov, tmp_path):
    caps = _load(ov['data_root'], ov['caption_ann_file'])
    bare = [dict(image=c['image'], caption=c['caption']) for c in caps]
    ann = tmp_path / 'bare.json'
    ann.write_text(json.dumps(bare))
    img_dir = osp.join(ov['data_root'], ov['caption_img_prefix'])
    ds = CaptionPhraseDataset(
        ann_file=str(ann), data_prefix=dict(img=img_dir),
        metainfo=dict(classes=SYNTHETIC_OPEN_VOCAB_CLASSES),
        filter_cfg=dict(filter_empty_gt=True), pipeline=[])
    assert len(ds) == N_CAP
    for i, c in enumerate(caps):
        info = ds.get_data_info(i)
        assert info['phrases'] == c['phrases']  # from the chunker
        assert (info['width'], info['height']) == (256, 256)  # from the image
    # an explicit vocabulary overrides the classes
    ds = CaptionPhraseDataset(ann_file=str(ann), data_prefix=dict(
        img=img_dir), phrase_vocab=['red square'], pipeline=[])
    assert {p for i in range(len(ds))
            for p in ds.get_data_info(i)['phrases']} == {'red square'}
    # min_size still applies
    ds = CaptionPhraseDataset(ann_file=str(ann), data_prefix=dict(
        img=img_dir), phrase_vocab=['x'], filter_cfg=dict(min_size=300),
        pipeline=[], serialize_data=False)  # mmengine cannot pack 0 items
    assert len(ds) == 0
    with pytest.raises(ValueError, match='phrase_vocab'):
        CaptionPhraseDataset(ann_file=str(ann), pipeline=[])
    with pytest.raises(TypeError, match='CocoDataset'):
        CaptionPhraseDataset(ann_file=osp.join(ov['data_root'],
                                               ov['val_ann_file']),
                             pipeline=[])
    # mmdet's own reader accepts the same file (format compatibility)
    from mmdet.datasets import CocoCaptionDataset
    stock = CocoCaptionDataset(
        ann_file=osp.join(ov['data_root'], ov['caption_ann_file']),
        data_prefix=dict(img_path=img_dir), pipeline=[])
    assert stock.get_data_info(2)['gt_caption'] == caps[2]['caption']


def _pointed_cfg(ov):
    """The hybrid config re-pointed with the documented --cfg-options."""
    root = ov['data_root'] + '/'
    cfg = Config.fromfile(MAIN_CFG)
    cfg.merge_from_dict({
        'train_dataloader.dataset.datasets.0.data_root': root,
        'train_dataloader.dataset.datasets.1.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': root + 'annotations/instances_val.json',
    })
    return cfg


def test_hybrid_batches_are_homogeneous(ov):
    cfg = _pointed_cfg(ov)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(batch_size=[2, 3], num_workers=0,
                      persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    assert type(loader.batch_sampler).__name__ == \
        'MultiDataAspectRatioBatchSampler'
    assert type(loader.batch_sampler.sampler).__name__ == 'MultiDataSampler'
    meta = loader.dataset.metainfo
    assert isinstance(meta, dict)  # same metainfo: not a list of dicts
    assert tuple(meta['classes']) == SYNTHETIC_OPEN_VOCAB_CLASSES
    box_labels = {SYNTHETIC_OPEN_VOCAB_CLASSES.index(c)
                  for c in ov['box_classes']}
    kinds = []
    for epoch in range(2):
        loader.batch_sampler.sampler.set_epoch(epoch)
        for batch in loader:
            samples = batch['data_samples']
            caption = {'phrases' in s.metainfo for s in samples}
            assert len(caption) == 1, 'a batch mixes the two datasets'
            caption = caption.pop()
            kinds.append(caption)
            # one batch size per dataset (drop_last: always full)
            assert len(samples) == (3 if caption else 2)
            for s, img in zip(samples, batch['inputs']):
                if caption:
                    assert len(s.gt_instances) == 0
                    assert tuple(img.shape[1:]) == (128, 128)
                else:
                    assert 'phrases' not in s.metainfo
                    assert set(s.gt_instances.labels.tolist()) <= box_labels
                    assert tuple(img.shape[1:]) == (256, 256)
    assert True in kinds and False in kinds, kinds
    val = Runner.build_dataloader(
        dict(copy.deepcopy(cfg.val_dataloader), num_workers=0,
             persistent_workers=False))
    assert len(val.dataset) == N_VAL
    assert val.dataset.metainfo['classes'] == meta['classes']
    assert cfg.val_evaluator['classwise'] is True
    assert osp.isfile(cfg.val_evaluator['ann_file'])


def test_child_config_override_documented_in_base(ov, tmp_path):
    root = ov['data_root'] + '/'
    child = tmp_path / 'child.py'
    child.write_text(
        f'_base_ = {MAIN_CFG!r}\n'
        f'data_root = {root!r}\n'
        'train_dataloader = dict(dataset=dict(datasets=[\n'
        '    dict(_base_.ov_det_train_dataset, data_root=data_root),\n'
        '    dict(_base_.ov_caption_train_dataset, data_root=data_root)]))\n'
        'val_dataloader = dict(dataset=dict(data_root=data_root))\n'
        'test_dataloader = val_dataloader\n'
        "val_evaluator = dict(ann_file=data_root + "
        "'annotations/instances_val.json')\n"
        'test_evaluator = val_evaluator\n')
    cfg = Config.fromfile(str(child))
    sets = cfg.train_dataloader.dataset.datasets
    assert [d.data_root for d in sets] == [root, root]
    assert [d.type for d in sets] == ['CocoDataset', 'CaptionPhraseDataset']
    assert sets[1].pipeline[-1].meta_keys[-2:] == ('gt_caption', 'phrases')
    assert cfg.test_dataloader.dataset.data_root == root
    assert cfg.test_evaluator.ann_file.startswith(root)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(ds) == N_DET + N_CAP


def test_tool_captions_flag(tmp_path):
    tool = load_script('tools/make_synthetic_dataset.py')
    out = str(tmp_path / 'ov')
    info = tool.main([out, '--captions', '--num-train', '2',
                      '--num-caption-train', '3', '--num-val', '2',
                      '--img-size', '64', '--seed', '1'])
    saved = _load(out, 'dataset_info.json')
    assert saved['unseen_classes'] == list(SYNTHETIC_OPEN_VOCAB_UNSEEN)
    assert len(_load(out, info['caption_ann_file'])) == 3
    assert len(_load(out, info['det_ann_file'])['images']) == 2
    # the old command line is unchanged
    old = str(tmp_path / 'old')
    info = tool.main([old, '--num-train', '2', '--num-val', '1',
                      '--img-size', '64'])
    assert sorted(_load(old, 'dataset_info.json')) == sorted(
        ['classes', 'data_root', 'train_ann_file', 'train_img_prefix',
         'val_ann_file', 'val_img_prefix'])
    assert info['train_ann_file'] == 'annotations/instances_train.json'
    with pytest.raises(SystemExit):
        tool.parse_args([old, '--captions', '--voc'])
