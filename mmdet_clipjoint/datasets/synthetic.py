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
    'make_synthetic_dataset'
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


def _render_image(rng: np.random.Generator,
                  w: int,
                  h: int,
                  classes: Sequence[str],
                  objects: Tuple[int, int],
                  size_range: Tuple[float, float],
                  distractors: int,
                  texture: str = 'stripes',
                  texture_prob: float = 0.3,
                  class_p: Optional[np.ndarray] = None
                  ) -> Tuple[Image.Image, List[Dict]]:
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
    for _ in range(n_obj):
        label = int(rng.integers(len(classes))) if class_p is None else \
            int(rng.choice(len(classes), p=class_p))
        colour, shape = classes[label].split(' ', 1)
        r = rng.uniform(*size_range) * short / 2
        cx, cy = rng.uniform(0.6 * r, w - 0.6 * r), rng.uniform(
            0.6 * r, h - 0.6 * r)
        pts = _polygon(shape, cx, cy, r, rng.uniform(0, math.pi / 2))
        fill = _jitter(SYNTHETIC_COLORS[colour], rng)
        draw.polygon(pts, fill=fill, outline=_jitter(fill, rng, 40))
        # one draw per object whatever the texture, so the random stream
        # (boxes, labels) does not depend on the texture options
        if rng.uniform() < texture_prob:
            _texture(draw, pts, cx, cy, r, fill, texture)
        xs = np.clip([p[0] for p in pts], 0, w - 1)
        ys = np.clip([p[1] for p in pts], 0, h - 1)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        anns.append(
            dict(bbox=[float(x0), float(y0), float(x1 - x0),
                       float(y1 - y0)], label=label))
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
    classes = tuple(classes or SYNTHETIC_CLASSES)
    for name in classes:
        parts = name.split(' ', 1)
        if len(parts) != 2 or parts[0] not in SYNTHETIC_COLORS or \
                parts[1] not in SYNTHETIC_SHAPES:
            raise ValueError(
                f'synthetic class {name!r} must be "<colour> <shape>" with '
                f'colour in {list(SYNTHETIC_COLORS)} and shape in '
                f'{list(SYNTHETIC_SHAPES)}')
    if len(set(classes)) != len(classes):
        raise ValueError(f'synthetic classes repeat a name: {classes}')
    class_p = None
    if class_weights is not None:
        class_p = np.asarray(class_weights, dtype=float)
        if class_p.shape != (len(classes), ) or (class_p < 0).any() or \
                class_p.sum() <= 0:
            raise ValueError('class_weights must hold one non-negative '
                             f'weight per class ({len(classes)}), not all 0')
        class_p = class_p / class_p.sum()
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
