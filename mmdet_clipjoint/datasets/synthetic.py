# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A deterministic synthetic detection dataset that anyone can regenerate.

Images hold coloured geometric objects on cluttered backgrounds.  Class names
are plain English ("red circle", "orange circle", "blue triangle", ...), so a
CLIP text encoder has something to say about them, and several pairs are
genuinely confusable (red/orange, blue/purple, square/diamond).  Objects vary
in size, rotation and texture, may be partially occluded, and unlabelled grey
distractor shapes are scattered around.

Three named vocabularies are defined:

* :data:`SYNTHETIC_CLASSES` -- benchmark A (the default, 12 classes);
* :data:`SYNTHETIC_CLASSES_B` -- benchmark B (12 other classes, new colours
  and the pentagon), with its own confusable flip map
  :data:`SYNTHETIC_CONFUSABLE_B`;
* :data:`SYNTHETIC_SOURCE_CLASSES` -- a pre-training (source) vocabulary of
  hexagons, stars and crosses, disjoint from both benchmark vocabularies
  (the analogue of ImageNet / COCO pre-training for the synthetic
  benchmarks).

:func:`make_synthetic_caption_dataset` builds an open-vocabulary variant
(:data:`SYNTHETIC_OPEN_VOCAB_CLASSES`): detection images with boxes of only
some classes, caption images whose captions name every class, and a fully
box-annotated validation split for zero-shot evaluation.

The output is a real COCO-format dataset (image files + instances JSON) that
mmdet's :class:`~mmdet.datasets.CocoDataset` reads unchanged, and, on
request, a Pascal-VOC-style tree for :class:`~mmdet.datasets.VOCDataset`.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    'SYNTHETIC_COLORS', 'SYNTHETIC_SHAPES', 'SYNTHETIC_CLASSES',
    'SYNTHETIC_CONFUSABLE', 'SYNTHETIC_CLASSES_B', 'SYNTHETIC_CONFUSABLE_B',
    'SYNTHETIC_SOURCE_CLASSES', 'SYNTHETIC_VOCABULARIES',
    'SYNTHETIC_OPEN_VOCAB_CLASSES', 'SYNTHETIC_OPEN_VOCAB_UNSEEN',
    'make_synthetic_dataset', 'make_synthetic_caption_dataset'
]

#: colour name -> RGB. The first five are benchmark A's (neighbours are its
#: confusable pairs); yellow / cyan / pink / brown were added for benchmark
#: B and the source vocabulary (each sits near an older colour: yellow ~
#: orange, cyan ~ green / blue, pink ~ purple / red, brown ~ orange / red).
SYNTHETIC_COLORS: Dict[str, Tuple[int, int, int]] = {
    'red': (220, 40, 40),
    'orange': (240, 130, 30),
    'green': (40, 170, 60),
    'blue': (40, 80, 220),
    'purple': (130, 60, 190),
    'yellow': (230, 205, 40),
    'cyan': (40, 195, 205),
    'pink': (235, 120, 175),
    'brown': (135, 85, 45),
}
#: Every shape the renderer draws (the first four are benchmark A's).
SYNTHETIC_SHAPES: Tuple[str, ...] = ('circle', 'square', 'triangle',
                                     'diamond', 'pentagon', 'hexagon', 'star',
                                     'cross')
# unlabelled grey distractors keep benchmark A's four shapes, so that the
# random stream (and every image) of benchmark A is unchanged
_DISTRACTOR_SHAPES: Tuple[str, ...] = SYNTHETIC_SHAPES[:4]

#: The default 12 classes: every colour/shape pair would be 20, too many for
#: CPU runs, so take the pairs that make confusable neighbours.
SYNTHETIC_CLASSES: Tuple[str, ...] = (
    'red circle', 'orange circle', 'green circle',
    'red square', 'orange square', 'blue square',
    'blue triangle', 'purple triangle', 'green triangle',
    'blue diamond', 'purple diamond', 'orange diamond',
)


#: Each class's most confusable neighbour (same shape, neighbouring colour,
#: or same colour, similar shape): the flip map of class-dependent noise.
SYNTHETIC_CONFUSABLE: Dict[str, str] = {
    'red circle': 'orange circle', 'orange circle': 'red circle',
    'green circle': 'green triangle', 'red square': 'orange square',
    'orange square': 'red square', 'blue square': 'blue diamond',
    'blue triangle': 'purple triangle', 'purple triangle': 'blue triangle',
    'green triangle': 'green circle', 'blue diamond': 'purple diamond',
    'purple diamond': 'blue diamond', 'orange diamond': 'orange square',
}

#: Benchmark B: 12 classes, none of them in :data:`SYNTHETIC_CLASSES`; six
#: confusable pairs (neighbouring colours or similar shapes).
SYNTHETIC_CLASSES_B: Tuple[str, ...] = (
    'yellow pentagon', 'orange pentagon',
    'pink circle', 'purple circle',
    'cyan square', 'cyan diamond',
    'brown triangle', 'red triangle',
    'pink diamond', 'pink square',
    'brown circle', 'brown pentagon',
)

#: Benchmark B's flip map of class-dependent noise: each class to the other
#: member of its pair (classes ``2k`` and ``2k + 1`` above).
SYNTHETIC_CONFUSABLE_B: Dict[str, str] = {
    name: SYNTHETIC_CLASSES_B[i ^ 1]
    for i, name in enumerate(SYNTHETIC_CLASSES_B)
}

#: Pre-training (source) vocabulary: hexagons, stars and crosses in six
#: colours (18 classes). No benchmark class has one of these shapes, so the
#: source set shares no class with benchmark A or B.
SYNTHETIC_SOURCE_CLASSES: Tuple[str, ...] = tuple(
    f'{colour} {shape}' for shape in ('hexagon', 'star', 'cross')
    for colour in ('red', 'yellow', 'green', 'cyan', 'blue', 'pink'))

#: The open-vocabulary set (:func:`make_synthetic_caption_dataset`): every
#: pair of three colours and three shapes (9 classes, colour-major order).
SYNTHETIC_OPEN_VOCAB_CLASSES: Tuple[str, ...] = tuple(
    f'{colour} {shape}' for colour in ('red', 'green', 'blue')
    for shape in ('circle', 'square', 'triangle'))

#: The classes no training box names (zero-shot at evaluation). A Latin
#: square over colours x shapes: every colour and every shape is still seen
#: in two box-labelled classes, only the combination is new.
SYNTHETIC_OPEN_VOCAB_UNSEEN: Tuple[str, ...] = ('red square',
                                                'green triangle',
                                                'blue circle')

#: Named vocabularies: ``A`` and ``B`` (benchmarks), ``source``.
SYNTHETIC_VOCABULARIES: Dict[str, Tuple[str, ...]] = dict(
    A=SYNTHETIC_CLASSES, B=SYNTHETIC_CLASSES_B,
    source=SYNTHETIC_SOURCE_CLASSES)


def _star(points: int = 5, inner: float = 0.45) -> List[Tuple[float, float]]:
    """Unit star outline: ``points`` tips at radius 1, notches at ``inner``,
    the first tip pointing up."""
    return [((1.0 if k % 2 == 0 else inner) *
             math.cos(-math.pi / 2 + math.pi * k / points),
             (1.0 if k % 2 == 0 else inner) *
             math.sin(-math.pi / 2 + math.pi * k / points))
            for k in range(2 * points)]


def _cross(arm: float = 0.3) -> List[Tuple[float, float]]:
    """Unit plus-sign outline (12 vertices) of half arm width ``arm``; its
    arm tips lie at radius 1."""
    a, t = arm, math.sqrt(1.0 - arm**2)
    return [(-a, -t), (a, -t), (a, -a), (t, -a), (t, a), (a, a), (a, t),
            (-a, t), (-a, a), (-t, a), (-t, -a), (-a, -a)]


#: unit outlines (radius 1, unrotated) of the non-regular shapes
_OUTLINES: Dict[str, List[Tuple[float, float]]] = dict(
    # a rhombus: elongated along one axis so it differs from a square
    diamond=[(0, -1.0), (0.6, 0), (0, 1.0), (-0.6, 0)],
    star=_star(),
    cross=_cross(),
)


def _polygon(shape: str, cx: float, cy: float, r: float,
             angle: float) -> List[Tuple[float, float]]:
    """Vertices of a shape of circumradius ``r`` rotated by ``angle``
    radians; a circle is approximated by 32 vertices."""
    if shape in _OUTLINES:
        ca, sa = math.cos(angle), math.sin(angle)
        return [(cx + r * (x * ca - y * sa), cy + r * (x * sa + y * ca))
                for x, y in _OUTLINES[shape]]
    if shape == 'circle':
        n, offset = 32, 0.0
    elif shape == 'square':
        n, offset = 4, math.pi / 4
    elif shape == 'triangle':
        n, offset = 3, -math.pi / 2
    elif shape == 'pentagon':
        n, offset = 5, -math.pi / 2
    elif shape == 'hexagon':
        n, offset = 6, 0.0
    else:
        raise ValueError(f'unknown shape {shape!r}; '
                         f'choose from {SYNTHETIC_SHAPES}')
    return [(cx + r * math.cos(offset + angle + 2 * math.pi * k / n),
             cy + r * math.sin(offset + angle + 2 * math.pi * k / n))
            for k in range(n)]


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """Smooth random gradient plus noise and a few faint lines (clutter)."""
    base = rng.integers(90, 200, size=3)
    gx = np.linspace(0, 1, w)[None, :, None]
    gy = np.linspace(0, 1, h)[:, None, None]
    tilt = rng.uniform(-40, 40, size=(2, 3))
    img = base + gx * tilt[0] + gy * tilt[1]
    img = img + rng.normal(0, 12, size=(h, w, 3))
    img = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0, x1, y1 = rng.uniform(0, 1, size=4) * [w, h, w, h]
        c = tuple(int(v) for v in rng.integers(60, 220, size=3))
        draw.line([(x0, y0), (x1, y1)], fill=c, width=int(rng.integers(1, 3)))
    return img


def _jitter(rgb: Sequence[int], rng: np.random.Generator,
            amount: int = 18) -> Tuple[int, int, int]:
    return tuple(
        int(np.clip(v + rng.integers(-amount, amount + 1), 0, 255))
        for v in rgb)


def _texture(draw: ImageDraw.ImageDraw, pts: List[Tuple[float, float]],
             cx: float, cy: float, r: float, fill: Tuple[int, int, int],
             style: str) -> None:
    """Darker marks across an object: ``stripes`` (slanted lines) or
    ``dots`` (a grid of small squares). Draws without random numbers."""
    dark = tuple(max(0, v - 60) for v in fill)
    xs = [p[0] for p in pts]
    step = max(3.0, r / 3)
    if style == 'stripes':
        for x in np.arange(min(xs), max(xs), step):
            draw.line([(x, cy - r * 0.3), (x + r * 0.2, cy + r * 0.3)],
                      fill=dark, width=1)
    elif style == 'dots':
        half = 0.5 * r
        for x in np.arange(cx - half, cx + half + 1e-6, step):
            for y in np.arange(cy - half, cy + half + 1e-6, step):
                draw.rectangle([x - 0.8, y - 0.8, x + 0.8, y + 0.8],
                               fill=dark)


def class_probabilities(class_weights: Optional[Sequence[float]],
                        num_classes: int) -> Optional[np.ndarray]:
    """Relative class frequencies as probabilities (None stays None:
    uniform), checked: one non-negative weight per class, not all 0."""
    if class_weights is None:
        return None
    class_p = np.asarray(class_weights, dtype=float)
    if class_p.shape != (num_classes, ) or (class_p < 0).any() or \
            class_p.sum() <= 0:
        raise ValueError('class_weights must hold one non-negative '
                         f'weight per class ({num_classes}), not all 0')
    return class_p / class_p.sum()


def _check_class_names(classes: Sequence[str]) -> Tuple[str, ...]:
    """Check that every name is ``"<colour> <shape>"`` with a known colour
    and shape, and that no name repeats; return the names as a tuple."""
    classes = tuple(classes)
    for name in classes:
        parts = name.split(' ', 1) if isinstance(name, str) else []
        if len(parts) != 2 or parts[0] not in SYNTHETIC_COLORS or \
                parts[1] not in SYNTHETIC_SHAPES:
            raise ValueError(
                f'synthetic class {name!r} must be "<colour> <shape>" with '
                f'colour in {list(SYNTHETIC_COLORS)} and shape in '
                f'{list(SYNTHETIC_SHAPES)}')
    if len(set(classes)) != len(classes):
        raise ValueError(f'synthetic classes repeat a name: {classes}')
    return classes


def _render_image(rng: np.random.Generator,
                  w: int,
                  h: int,
                  classes: Sequence[str],
                  objects: Tuple[int, int],
                  size_range: Tuple[float, float],
                  distractors: int,
                  texture: str = 'stripes',
                  texture_prob: float = 0.3,
                  class_p: Optional[np.ndarray] = None,
                  first_labels: Sequence[int] = (),
                  with_texture: bool = False
                  ) -> Tuple[Image.Image, List[Dict]]:
    """Draw one image and return it with its object annotations.

    ``first_labels`` (default: none) fixes the labels of the first objects
    instead of drawing them, and ``with_texture`` (default: off) adds a
    ``textured`` flag to every annotation; with their defaults the random
    stream, the image and the annotations are exactly those of the original
    renderer (existing benchmarks depend on that).

    Returns:
        tuple: The image and a list of ``dict(bbox=[x, y, w, h], label=i)``
        (``label`` indexes ``classes``).
    """
    img = _background(rng, w, h)
    draw = ImageDraw.Draw(img)
    anns = []
    short = min(w, h)
    # unlabelled grey distractor shapes, drawn first (behind the objects)
    for _ in range(int(rng.integers(0, distractors + 1))):
        r = rng.uniform(*size_range) * short / 2
        cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
        g = int(rng.integers(70, 180))
        shape = _DISTRACTOR_SHAPES[int(rng.integers(len(_DISTRACTOR_SHAPES)))]
        draw.polygon(
            _polygon(shape, cx, cy, r, rng.uniform(0, math.pi)),
            fill=(g, g, g))
    n_obj = int(rng.integers(objects[0], objects[1] + 1))
    for k in range(n_obj):
        if k < len(first_labels):
            label = int(first_labels[k])
        elif class_p is None:
            label = int(rng.integers(len(classes)))
        else:
            label = int(rng.choice(len(classes), p=class_p))
        colour, shape = classes[label].split(' ', 1)
        r = rng.uniform(*size_range) * short / 2
        cx, cy = rng.uniform(0.6 * r, w - 0.6 * r), rng.uniform(
            0.6 * r, h - 0.6 * r)
        pts = _polygon(shape, cx, cy, r, rng.uniform(0, math.pi / 2))
        fill = _jitter(SYNTHETIC_COLORS[colour], rng)
        draw.polygon(pts, fill=fill, outline=_jitter(fill, rng, 40))
        # one draw per object whatever the texture, so the random stream
        # (boxes, labels) does not depend on the texture options
        textured = bool(rng.uniform() < texture_prob)
        if textured:
            _texture(draw, pts, cx, cy, r, fill, texture)
        xs = np.clip([p[0] for p in pts], 0, w - 1)
        ys = np.clip([p[1] for p in pts], 0, h - 1)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        anns.append(
            dict(bbox=[float(x0), float(y0), float(x1 - x0),
                       float(y1 - y0)], label=label))
        if with_texture:
            anns[-1]['textured'] = textured and texture != 'none'
    # partial occlusion: a background-coloured patch over some objects
    for ann in anns:
        if rng.uniform() < 0.15:
            x, y, bw, bh = ann['bbox']
            ox, oy = x + rng.uniform(0.5, 0.8) * bw, y + rng.uniform(
                0, 0.5) * bh
            c = tuple(int(v) for v in rng.integers(90, 200, size=3))
            draw.rectangle([ox, oy, x + bw, oy + 0.4 * bh], fill=c)
    return img, anns


def _write_voc(out_dir: str, split: str, records: List[Dict],
               classes: Sequence[str]) -> None:
    """Write a VOC2007-style tree next to the COCO files."""
    root = osp.join(out_dir, 'VOCdevkit', 'VOC2007')
    os.makedirs(osp.join(root, 'Annotations'), exist_ok=True)
    os.makedirs(osp.join(root, 'JPEGImages'), exist_ok=True)
    os.makedirs(osp.join(root, 'ImageSets', 'Main'), exist_ok=True)
    ids = []
    for rec in records:
        stem = osp.splitext(osp.basename(rec['file_name']))[0]
        ids.append(stem)
        rec['image'].save(osp.join(root, 'JPEGImages', stem + '.jpg'),
                          quality=95)
        objs = []
        for ann in rec['anns']:
            x, y, w, h = ann['bbox']
            objs.append(
                '  <object>\n'
                f'    <name>{classes[ann["label"]]}</name>\n'
                '    <difficult>0</difficult>\n'
                '    <bndbox>'
                f'<xmin>{int(round(x)) + 1}</xmin><ymin>{int(round(y)) + 1}'
                f'</ymin><xmax>{int(round(x + w))}</xmax>'
                f'<ymax>{int(round(y + h))}</ymax></bndbox>\n'
                '  </object>\n')
        xml = ('<annotation>\n  <folder>VOC2007</folder>\n'
               f'  <filename>{stem}.jpg</filename>\n'
               f'  <size><width>{rec["width"]}</width>'
               f'<height>{rec["height"]}</height><depth>3</depth></size>\n' +
               ''.join(objs) + '</annotation>\n')
        with open(osp.join(root, 'Annotations', stem + '.xml'), 'w') as f:
            f.write(xml)
    with open(osp.join(root, 'ImageSets', 'Main', split + '.txt'), 'w') as f:
        f.write('\n'.join(ids) + '\n')


def make_synthetic_dataset(out_dir: str,
                           num_train: int = 64,
                           num_val: int = 16,
                           img_size: Tuple[int, int] = (256, 256),
                           objects_per_image: Tuple[int, int] = (1, 4),
                           size_range: Tuple[float, float] = (0.15, 0.45),
                           distractors: int = 2,
                           classes: Optional[Sequence[str]] = None,
                           seed: int = 0,
                           voc: bool = False,
                           texture: str = 'stripes',
                           texture_prob: float = 0.3,
                           class_weights: Optional[Sequence[float]] = None
                           ) -> Dict:
    """Generate a COCO-format synthetic detection dataset.

    Layout written under ``out_dir``::

        annotations/instances_train.json, annotations/instances_val.json
        train/000000.jpg ..., val/000000.jpg ...
        VOCdevkit/VOC2007/...   (only with ``voc=True``)

    Args:
        out_dir: Output directory (created).
        num_train: Number of training images.
        num_val: Number of validation images.
        img_size: ``(width, height)`` of every image.
        objects_per_image: Inclusive ``(min, max)`` labelled objects.
        size_range: Object diameter as a fraction of the short image side.
        distractors: Maximum number of unlabelled grey shapes per image.
        classes: Class names ``"<colour> <shape>"`` (colour in
            :data:`SYNTHETIC_COLORS`, shape in :data:`SYNTHETIC_SHAPES`),
            e.g. :data:`SYNTHETIC_CLASSES_B` or
            :data:`SYNTHETIC_SOURCE_CLASSES`; defaults to
            :data:`SYNTHETIC_CLASSES`.
        seed: Everything is deterministic given the seed.
        voc: Also write a Pascal-VOC-style tree.
        texture: Style of the marks on textured objects: ``'stripes'``
            (default), ``'dots'`` or ``'none'``. Boxes and labels do not
            depend on it (same seed, same annotations).
        texture_prob: Probability that an object is textured.
        class_weights: Relative frequency of each class (same order as
            ``classes``), e.g. a long-tailed profile; default: uniform.

    Returns:
        dict: ``classes``, ``data_root`` and the per-split annotation file
        and image-folder names, ready for a dataset config.
    """
    classes = _check_class_names(classes or SYNTHETIC_CLASSES)
    class_p = class_probabilities(class_weights, len(classes))
    if texture not in ('stripes', 'dots', 'none'):
        raise ValueError(f'texture={texture!r}: use stripes, dots or none')
    w, h = int(img_size[0]), int(img_size[1])
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    info = dict(classes=classes, data_root=out_dir)
    for split_idx, (split, n) in enumerate((('train', num_train),
                                            ('val', num_val))):
        rng = np.random.default_rng([seed, split_idx])
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, annotations, records = [], [], []
        for i in range(n):
            img, anns = _render_image(rng, w, h, classes, objects_per_image,
                                      size_range, distractors, texture,
                                      texture_prob, class_p)
            file_name = f'{i:06d}.jpg'
            img.save(osp.join(out_dir, split, file_name), quality=95)
            images.append(dict(id=i + 1, file_name=file_name, width=w,
                               height=h))
            for ann in anns:
                x, y, bw, bh = ann['bbox']
                annotations.append(
                    dict(id=len(annotations) + 1, image_id=i + 1,
                         category_id=ann['label'] + 1,
                         bbox=[round(v, 2) for v in ann['bbox']],
                         area=round(bw * bh, 2), iscrowd=0))
            records.append(dict(file_name=f'{split}_{i:06d}.jpg', width=w,
                                height=h, anns=anns, image=img))
        coco = dict(
            images=images,
            annotations=annotations,
            categories=[dict(id=k + 1, name=c) for k, c in enumerate(classes)])
        ann_file = osp.join('annotations', f'instances_{split}.json')
        with open(osp.join(out_dir, ann_file), 'w') as f:
            json.dump(coco, f)
        info[f'{split}_ann_file'] = ann_file
        info[f'{split}_img_prefix'] = split + '/'
        if voc:
            _write_voc(out_dir, 'trainval' if split == 'train' else 'test',
                       records, classes)
    return info


# --------------------------------------------------------------------------
# open-vocabulary set: captions + partial box labels
# --------------------------------------------------------------------------

_NUMBER_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six',
                 'seven', 'eight', 'nine', 'ten')
_TEXTURE_WORDS = dict(stripes='striped', dots='dotted')


def _article(word: str) -> str:
    return 'an' if word[:1] in 'aeiou' else 'a'


def _plural(name: str) -> str:
    """``"red cross"`` -> ``"red crosses"``, ``"red circle"`` ->
    ``"red circles"``."""
    return name + ('es' if name.endswith(('s', 'x', 'sh', 'ch')) else 's')


def _relation(a: Dict, b: Dict) -> str:
    """Where object ``a`` lies relative to ``b``, from their box centres
    (image y grows downwards): the dominant axis decides."""
    ax, ay, aw, ah = a['bbox']
    bx, by, bw, bh = b['bbox']
    dx = (ax + aw / 2) - (bx + bw / 2)
    dy = (ay + ah / 2) - (by + bh / 2)
    if abs(dx) >= abs(dy):
        return 'to the left of' if dx < 0 else 'to the right of'
    return 'above' if dy < 0 else 'below'


def _caption(rng: np.random.Generator, anns: List[Dict],
             classes: Sequence[str],
             texture: str) -> Tuple[str, List[str]]:
    """A caption of one image and its noun phrases.

    Objects of the same class are grouped ("two red squares"); a single
    textured object gets its texture adjective ("a striped red square").
    The first two groups are joined by a spatial relation of their first
    objects ("above", "below", "to the left of", "to the right of", or
    "next to"), the others are listed; one of four templates is drawn.

    Args:
        rng: The caption random stream (separate from the images').
        anns: The image's annotations (``bbox``, ``label``, ``textured``).
        classes: Class names, indexed by ``label``.
        texture: The image's texture style (``'stripes'`` / ``'dots'`` /
            ``'none'``).

    Returns:
        tuple: The caption and its phrases: the class names it mentions,
        each once, in the order mentioned (the texture adjective is not
        part of a phrase, so a phrase equals a class name, and each phrase
        is a substring of the caption).
    """
    if not anns:
        return 'an empty cluttered background', []
    order = [anns[int(i)] for i in rng.permutation(len(anns))]
    groups: Dict[int, List[Dict]] = {}
    for ann in order:
        groups.setdefault(ann['label'], []).append(ann)
    texts, firsts = [], []
    for label, members in groups.items():
        name = classes[label]
        if len(members) == 1:
            adj = _TEXTURE_WORDS.get(texture) if members[0].get(
                'textured') else None
            words = f'{adj} {name}' if adj else name
            texts.append(f'{_article(words)} {words}')
        else:
            count = len(members)
            number = _NUMBER_WORDS[count] if count < len(
                _NUMBER_WORDS) else str(count)
            texts.append(f'{number} {_plural(name)}')
        firsts.append(members[0])
    phrases = [classes[label] for label in groups]

    def listing(items: List[str]) -> str:
        return items[0] if len(items) == 1 else \
            ', '.join(items[:-1]) + ' and ' + items[-1]

    template = int(rng.integers(4))
    if len(texts) >= 2 and template in (0, 3):
        rel = 'next to' if rng.uniform() < 0.3 else _relation(
            firsts[0], firsts[1])
        text = f'{texts[0]} {rel} {texts[1]}'
        if len(texts) > 2:
            text += (', ' if len(texts) > 3 else ' and ') + \
                listing(texts[2:])
        return ('there is ' + text if template == 3 else text), phrases
    if template == 1:
        return 'a picture of ' + listing(texts), phrases
    if template == 2:
        return listing(texts) + ' on a cluttered background', phrases
    return ('there is ' if template == 3 else '') + listing(texts), phrases


def make_synthetic_caption_dataset(
        out_dir: str,
        classes: Optional[Sequence[str]] = None,
        box_classes: Optional[Sequence[str]] = None,
        num_det_train: int = 64,
        num_caption_train: int = 64,
        num_val: int = 32,
        img_size: Tuple[int, int] = (256, 256),
        seed: int = 0,
        objects_per_image: Tuple[int, int] = (1, 4),
        size_range: Tuple[float, float] = (0.15, 0.45),
        distractors: int = 2,
        texture: str = 'mixed',
        texture_prob: float = 0.3,
        caption_unseen_weight: float = 2.0) -> Dict:
    """Generate the open-vocabulary set: partial boxes + captions.

    Three splits (issue 15): box labels for only ``box_classes`` while the
    captions mention every class, and a validation split with boxes of every
    class, so box AP on the classes no training box names is zero-shot.

    Layout written under ``out_dir`` (every path relative to it)::

        annotations/instances_det_train.json   COCO instances: boxes of
            box_classes only; ``categories`` lists ALL classes (ids shared
            with val; the unseen ones have no train box)
        annotations/captions_caption_train.json  caption list (below)
        annotations/DEBUG_ONLY_instances_caption_train.json  the caption
            images' true boxes, for debugging and analysis: NOT training
            data (a hybrid run must not read it)
        annotations/instances_val.json         COCO instances, all classes
        det_train/000000.jpg ..., caption_train/..., val/...

    The caption file uses the COCO-captions list format that mmdet 3.3's own
    :class:`~mmdet.datasets.CocoCaptionDataset` reads -- a JSON list of
    ``{"image": <file>, "caption": <text>}`` -- extended with optional keys:
    ``"phrases"`` (the caption's noun phrases, pre-extracted as DetCLIPv2
    does; here exactly ``"<colour> <shape>"``, i.e. class names) and
    ``"width"`` / ``"height"``. That format rather than mmdet's grounding
    format (ODVG): DetCLIPv2's image-text pairs have no boxes, and ODVG's
    grounding records require region boxes.
    :class:`~mmdet_clipjoint.datasets.CaptionPhraseDataset` reads it.

    Captions are built from the objects drawn, e.g. "a striped red square to
    the left of a blue circle and two green triangles" (texture adjectives
    for textured objects, relations from the boxes, one of four templates).

    Every class appears often in the caption split: the first object of
    caption image ``i`` is class ``order[i % C]`` (unseen classes first), so
    with ``num_caption_train >= C`` every class is in at least
    ``num_caption_train // C`` images; the other objects are drawn with the
    unseen classes ``caption_unseen_weight`` times as likely as the others.
    The detection split cycles its first object over ``box_classes`` and
    the validation split over all classes in the same way.

    Args:
        out_dir: Output directory (created).
        classes: All class names (``"<colour> <shape>"``); defaults to
            :data:`SYNTHETIC_OPEN_VOCAB_CLASSES`.
        box_classes: The classes that get training boxes (a subset of
            ``classes``); defaults to ``classes`` minus
            :data:`SYNTHETIC_OPEN_VOCAB_UNSEEN`.
        num_det_train: Detection training images.
        num_caption_train: Caption training images.
        num_val: Validation images.
        img_size: ``(width, height)`` of every image.
        seed: Everything is deterministic given the seed.
        objects_per_image: Inclusive ``(min, max)`` objects per image.
        size_range: Object diameter as a fraction of the short image side.
        distractors: Maximum number of unlabelled grey shapes per image.
        texture: ``'mixed'`` (default: each image draws stripes or dots, so
            captions say "striped" or "dotted"), ``'stripes'``, ``'dots'``
            or ``'none'``.
        texture_prob: Probability that an object is textured.
        caption_unseen_weight: Relative frequency of an unseen class among
            the caption images' objects (the box classes have weight 1).

    Returns:
        dict: ``data_root`` (``out_dir``), ``classes``, ``box_classes``,
        ``unseen_classes``, ``det_ann_file`` / ``det_img_prefix``,
        ``caption_ann_file`` / ``caption_img_prefix``,
        ``caption_debug_ann_file``, ``val_ann_file`` / ``val_img_prefix``
        (paths relative to ``data_root``) and ``caption_class_counts``
        (class name -> number of captions that mention it).
    """
    classes = _check_class_names(classes or SYNTHETIC_OPEN_VOCAB_CLASSES)
    if box_classes is None:
        box_classes = [c for c in classes
                       if c not in SYNTHETIC_OPEN_VOCAB_UNSEEN]
        if len(box_classes) == len(classes):
            raise ValueError(
                'box_classes=None keeps the classes outside '
                'SYNTHETIC_OPEN_VOCAB_UNSEEN, but none of the given classes '
                'is in it: pass box_classes (the classes that get training '
                'boxes) explicitly')
    box_classes = tuple(box_classes)
    unknown = [c for c in box_classes if c not in classes]
    if unknown or not box_classes or len(set(box_classes)) != len(
            box_classes):
        raise ValueError(
            f'box_classes must be a non-empty subset of classes without '
            f'repeats; {unknown or list(box_classes)} is not '
            f'(classes: {list(classes)})')
    if texture not in ('mixed', 'stripes', 'dots', 'none'):
        raise ValueError(
            f'texture={texture!r}: use mixed, stripes, dots or none')
    if caption_unseen_weight <= 0:
        raise ValueError('caption_unseen_weight must be > 0, got '
                         f'{caption_unseen_weight}')
    unseen = tuple(c for c in classes if c not in box_classes)
    box_idx = [classes.index(c) for c in box_classes]
    unseen_idx = [classes.index(c) for c in unseen]
    w, h = int(img_size[0]), int(img_size[1])
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)

    def probs(weights: Dict[int, float]) -> np.ndarray:
        p = np.array([weights.get(k, 0.0) for k in range(len(classes))])
        return p / p.sum()

    splits = (
        # name, images, class probabilities, cycle of first labels
        ('det_train', num_det_train, probs({k: 1.0
                                            for k in box_idx}), box_idx),
        ('caption_train', num_caption_train,
         probs({k: (caption_unseen_weight if k in unseen_idx else 1.0)
                for k in range(len(classes))}), unseen_idx + box_idx),
        ('val', num_val, probs({k: 1.0 for k in range(len(classes))}),
         list(range(len(classes)))),
    )
    categories = [dict(id=k + 1, name=c) for k, c in enumerate(classes)]
    caption_rng = np.random.default_rng([seed, 13])
    info = dict(data_root=out_dir, classes=classes, box_classes=box_classes,
                unseen_classes=unseen)
    captions: List[Dict] = []
    for split_idx, (split, n, class_p, cycle) in enumerate(splits):
        rng = np.random.default_rng([seed, 10 + split_idx])
        style_rng = np.random.default_rng([seed, 20 + split_idx])
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, annotations = [], []
        for i in range(n):
            style = texture if texture != 'mixed' else \
                ('stripes', 'dots')[int(style_rng.integers(2))]
            img, anns = _render_image(
                rng, w, h, classes, objects_per_image, size_range,
                distractors, style, texture_prob, class_p,
                first_labels=(cycle[i % len(cycle)], ), with_texture=True)
            file_name = f'{i:06d}.jpg'
            img.save(osp.join(out_dir, split, file_name), quality=95)
            images.append(dict(id=i + 1, file_name=file_name, width=w,
                               height=h))
            for ann in anns:
                bw, bh = ann['bbox'][2:]
                annotations.append(
                    dict(id=len(annotations) + 1, image_id=i + 1,
                         category_id=ann['label'] + 1,
                         bbox=[round(v, 2) for v in ann['bbox']],
                         area=round(bw * bh, 2), iscrowd=0))
            if split == 'caption_train':
                text, phrases = _caption(caption_rng, anns, classes, style)
                captions.append(dict(image=file_name, caption=text,
                                     phrases=phrases, width=w, height=h))
        coco = dict(images=images, annotations=annotations,
                    categories=categories)
        if split == 'caption_train':
            ann_file = osp.join('annotations', 'captions_caption_train.json')
            with open(osp.join(out_dir, ann_file), 'w') as f:
                json.dump(captions, f)
            info['caption_ann_file'] = ann_file
            info['caption_img_prefix'] = split + '/'
            debug_file = osp.join('annotations',
                                  'DEBUG_ONLY_instances_caption_train.json')
            with open(osp.join(out_dir, debug_file), 'w') as f:
                json.dump(coco, f)
            info['caption_debug_ann_file'] = debug_file
        else:
            key = 'det' if split == 'det_train' else 'val'
            ann_file = osp.join('annotations', f'instances_{split}.json')
            with open(osp.join(out_dir, ann_file), 'w') as f:
                json.dump(coco, f)
            info[f'{key}_ann_file'] = ann_file
            info[f'{key}_img_prefix'] = split + '/'
    info['caption_class_counts'] = {
        c: sum(c in cap['phrases'] for cap in captions)
        for c in classes
    }
    return info
