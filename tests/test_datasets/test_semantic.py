# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The semantic world: COCO names drawn as emoji (Noto Color Emoji)."""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmdet_clipjoint.datasets import (ALPHA_THRESHOLD, COCO_EMOJI,
                                      DISTRACTOR_EMOJI, EMOJI_FONT_ENV,
                                      MAX_COVERED,
                                      SOURCE_EMOJI, EmojiArt,
                                      find_emoji_font, make_semantic_dataset,
                                      render_object)
from mmdet_clipjoint.datasets import semantic

CLASSES = ('car', 'truck', 'cat', 'dog', 'apple', 'orange')


def _read(info, split='train'):
    with open(osp.join(info['data_root'], info[f'{split}_ann_file'])) as f:
        return json.load(f)


def test_tables_name_real_categories():
    from mmdet.datasets import CocoDataset, LVISV1Dataset
    coco = set(CocoDataset.METAINFO['classes'])
    lvis = set(LVISV1Dataset.METAINFO['classes'])
    assert set(COCO_EMOJI) <= coco and len(COCO_EMOJI) >= 55
    # the source set: LVIS names, none of them a COCO name
    assert set(SOURCE_EMOJI) <= lvis and not set(SOURCE_EMOJI) & coco
    # one picture per class, and no class drawn as a distractor
    cps = list(COCO_EMOJI.values()) + list(SOURCE_EMOJI.values())
    assert len(set(cps)) == len(cps)
    assert not set(cps) & set(DISTRACTOR_EMOJI)


def test_every_code_point_has_a_picture_in_the_font():
    art = EmojiArt()
    assert art.source == find_emoji_font()
    for cp in (list(COCO_EMOJI.values()) + list(SOURCE_EMOJI.values()) +
               list(DISTRACTOR_EMOJI)):
        sprite = art.sprite(cp)
        alpha = np.asarray(sprite)[..., 3]
        assert min(sprite.size) >= 20, cp
        assert (alpha >= ALPHA_THRESHOLD).mean() > 0.2, cp
    with pytest.raises(ValueError, match='no picture of code point e000'):
        art.sprite('e000')  # private use area: the font has no glyph


def test_missing_font_gives_a_clear_error(monkeypatch, tmp_path):
    real = find_emoji_font()
    monkeypatch.delenv(EMOJI_FONT_ENV, raising=False)
    monkeypatch.setattr(semantic, '_FONT_CANDIDATES',
                        (str(tmp_path / 'NotoColorEmoji.ttf'), ))
    with pytest.raises(FileNotFoundError,
                       match='apt-get install fonts-noto-color-emoji'):
        make_semantic_dataset(str(tmp_path / 'd'), CLASSES, 1, 0)
    monkeypatch.setenv(EMOJI_FONT_ENV, str(tmp_path / 'missing.ttf'))
    with pytest.raises(FileNotFoundError, match=EMOJI_FONT_ENV):
        find_emoji_font()
    # a font path given explicitly or through the variable is used
    assert find_emoji_font(real) == real
    monkeypatch.setenv(EMOJI_FONT_ENV, real)
    assert EmojiArt().source == real


def test_deterministic_by_seed(tmp_path):
    kw = dict(classes=CLASSES, num_train=4, num_val=2, img_size=(96, 96))
    a = make_semantic_dataset(str(tmp_path / 'a'), seed=3, **kw)
    b = make_semantic_dataset(str(tmp_path / 'b'), seed=3, **kw)
    c = make_semantic_dataset(str(tmp_path / 'c'), seed=4, **kw)
    pix = lambda d: np.asarray(Image.open(  # noqa
        osp.join(d['data_root'], 'train', '000001.jpg')))
    assert _read(a) == _read(b) and (pix(a) == pix(b)).all()
    assert _read(a) != _read(c)
    coco = _read(a)
    assert [c['name'] for c in coco['categories']] == list(CLASSES)
    assert a['code_points'] == [COCO_EMOJI[c] for c in CLASSES]
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        assert w >= 2 and h >= 2 and x >= 0 and y >= 0
        assert x + w <= 96 and y + h <= 96


def test_no_object_is_hidden_inside_another(tmp_path):
    info = make_semantic_dataset(str(tmp_path), CLASSES, num_train=40,
                                 num_val=0, img_size=(96, 96),
                                 objects_per_image=(3, 3),
                                 size_range=(0.3, 0.7))
    by_image = {}
    for ann in _read(info)['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann['bbox'])
    pairs = 0
    for boxes in by_image.values():
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
                iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
                small = min(a[2] * a[3], b[2] * b[3])
                assert ix * iy < MAX_COVERED * small
                pairs += 1
    assert pairs > 10  # several objects per image were placed


def _solid_art(tmp_path, colours):
    """A folder of PNGs named by code point: one solid disc per class."""
    folder = tmp_path / 'art'
    folder.mkdir()
    for cp, rgb in colours.items():
        img = Image.new('RGBA', (40, 30), (0, 0, 0, 0))
        from PIL import ImageDraw
        ImageDraw.Draw(img).ellipse([2, 2, 37, 27], fill=rgb + (255, ))
        img.save(folder / f'{cp}.png')
    return str(folder)


def test_each_class_is_drawn_from_its_code_point(tmp_path):
    """Art whose code points have distinct colours: the pixels inside each
    box have the colour of the box's class."""
    colours = {COCO_EMOJI['car']: (230, 20, 20),
               COCO_EMOJI['cat']: (20, 200, 20),
               COCO_EMOJI['apple']: (20, 20, 230)}
    info = make_semantic_dataset(
        str(tmp_path / 'd'), ('car', 'cat', 'apple'), num_train=12,
        num_val=0, img_size=(96, 96), objects_per_image=(1, 1),
        distractors=0, occlusion=0.0, size_range=(0.4, 0.6),
        art_dir=_solid_art(tmp_path, colours))
    coco = _read(info)
    assert info['art'] == str(tmp_path / 'art')
    assert len(coco['annotations']) == 12
    seen = set()
    for ann in coco['annotations']:
        img = np.asarray(Image.open(osp.join(
            info['data_root'], 'train',
            coco['images'][ann['image_id'] - 1]['file_name'])), dtype=float)
        x, y, w, h = (int(v) for v in ann['bbox'])
        centre = img[y + h // 3:y + 2 * h // 3, x + w // 3:x + 2 * w // 3]
        channel = int(np.median(centre.reshape(-1, 3), 0).argmax())
        assert channel == ann['category_id'] - 1  # car red, cat green, ...
        seen.add(channel)
    assert seen == {0, 1, 2}


def test_render_object_is_cropped_to_its_alpha():
    art = EmojiArt()
    rng = np.random.default_rng(0)
    for cp in (COCO_EMOJI['bus'], COCO_EMOJI['giraffe'], '2708'):
        for size in (12, 40, 90):
            obj = np.asarray(render_object(art.sprite(cp), rng, size))
            alpha = obj[..., 3]
            solid = alpha >= ALPHA_THRESHOLD
            # tight: every border row / column holds a drawn pixel
            assert solid[0].any() and solid[-1].any()
            assert solid[:, 0].any() and solid[:, -1].any()
            # nothing fainter is drawn outside the object
            assert (alpha[~solid] == 0).all()
            assert max(obj.shape[:2]) <= 1.45 * size  # rotation <= 20 deg


def test_boxes_are_tight_to_the_drawn_alpha(monkeypatch):
    """On a flat background (no distractors, no occlusion) each box is
    exactly the extent of the pixels its object changed."""
    grey = (128, 128, 128)
    monkeypatch.setattr(semantic, '_background',
                        lambda rng, w, h: Image.new('RGB', (w, h), grey))
    art = EmojiArt()
    cps = [COCO_EMOJI[c] for c in CLASSES]
    rng = np.random.default_rng(1)
    n = 0
    for _ in range(6):
        img, anns = semantic._render_scene(rng, art, 120, 100, cps, (1, 1),
                                           (0.2, 0.8), 0, None, 0.0)
        changed = np.abs(np.asarray(img, dtype=int) - grey).max(-1) > 0
        for ann in anns:
            ys, xs = np.nonzero(changed)
            x, y, w, h = ann['bbox']
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (
                x, y, x + w, y + h)
            n += 1
    assert n == 6


def test_unlabelled_classes_have_no_training_box(tmp_path):
    """The zero-shot split: novel objects may be drawn in training images,
    but no box and no category of theirs is in the training file; val
    annotates every class."""
    novel = ('truck', 'orange')
    info = make_semantic_dataset(str(tmp_path / 'd'), CLASSES, num_train=30,
                                 num_val=10, img_size=(96, 96),
                                 unlabelled_classes=novel)
    train, val = _read(info), _read(info, 'val')
    names = {c['id']: c['name'] for c in train['categories']}
    assert set(names.values()) == set(CLASSES) - set(novel)
    assert info['train_classes'] == tuple(c for c in CLASSES
                                          if c not in novel)
    assert all(names[a['category_id']] not in novel
               for a in train['annotations'])
    val_names = {c['id']: c['name'] for c in val['categories']}
    assert [c['name'] for c in val['categories']] == list(CLASSES)
    assert {val_names[a['category_id']]
            for a in val['annotations']} & set(novel)
    # the same scenes as without the split: only annotations are dropped
    full = make_semantic_dataset(str(tmp_path / 'f'), CLASSES, num_train=30,
                                 num_val=0, img_size=(96, 96))
    assert len(_read(full)['annotations']) > len(train['annotations'])


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match='no emoji for classes'):
        make_semantic_dataset(str(tmp_path), ['car', 'fire hydrant'])
    with pytest.raises(ValueError, match='unlabelled_classes'):
        make_semantic_dataset(str(tmp_path), CLASSES,
                              unlabelled_classes=['zebra'])
    with pytest.raises(ValueError, match='class_weights'):
        make_semantic_dataset(str(tmp_path), CLASSES, class_weights=[1, 2])
    with pytest.raises(FileNotFoundError, match='expected 1f697.png'):
        make_semantic_dataset(str(tmp_path / 'x'), ['car'], 1, 0,
                              art_dir=_solid_art(tmp_path, {'1f408': (1, 2,
                                                                      3)}))
