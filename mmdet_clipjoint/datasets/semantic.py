# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The semantic detection world: real class names drawn as real pictures.

Every benchmark before this one used made-up classes ("red circle"), whose
names have no CLIP meaning, so the text prior of CLIP-Joint-Detect could
not act. Here the classes are COCO categories (mmdet's ``CocoDataset``
names, so the shipped CLIP ViT-B/32 ``coco`` rows are their text), and each
is drawn as its Noto Color Emoji picture (Debian ``fonts-noto-color-emoji``,
OFL-1.1): classes whose names are close in CLIP space (car / truck / bus,
cat / dog, apple / orange) also tend to look alike, as in photographs.

* :data:`COCO_EMOJI` -- the reviewed ``{COCO name: code point}`` table (the
  COCO categories with a faithful emoji; the rest are left out);
* :data:`SOURCE_EMOJI` -- LVIS names that are not COCO names, drawn for the
  pre-training (source) set, the stand-in for ImageNet / COCO weights;
* :data:`DISTRACTOR_EMOJI` -- unlabelled clutter (faces, symbols, plants);
* :class:`EmojiArt` -- the pictures, from the font (``ImageFont.truetype``
  at its one bitmap size, 109) or from a folder of PNGs named by code point
  (``1f68c.png``, the layout of Twemoji / OpenMoji / Noto's PNG sets);
* :func:`make_semantic_dataset` -- a deterministic COCO-format set: objects
  at varied scale with flips, rotation, colour / brightness / blur jitter,
  partial occlusion and several objects per image, on cluttered
  backgrounds with distractor emoji; with ``odvg=True`` also grounding
  files (:func:`semantic_grounding_record`: captions naming each drawn
  object by its name or an LVIS synonym, with its box, in mmdet's ODVG
  format, read by :class:`GroundingPhraseDataset`).

The font is looked up in ``$MMDET_CLIPJOINT_EMOJI_FONT``, then in the
system's font folders; ``make setup`` installs it (apt, as root). Without
it, :func:`find_emoji_font` raises an error that says how to get it; there
is no silent fallback to other art.
"""
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from .synonyms import class_phrases
from .synthetic import class_probabilities

__all__ = [
    'COCO_EMOJI', 'SOURCE_EMOJI', 'DISTRACTOR_EMOJI', 'EMOJI_FONT_ENV',
    'ALPHA_THRESHOLD', 'MAX_COVERED', 'SEMANTIC_GENERATOR_VERSION',
    'find_emoji_font', 'EmojiArt', 'render_object', 'make_semantic_dataset',
    'semantic_grounding_record'
]

#: Environment variable with the path of an emoji font (``.ttf``).
EMOJI_FONT_ENV = 'MMDET_CLIPJOINT_EMOJI_FONT'
#: Where Debian / Ubuntu / Fedora / Arch put Noto Color Emoji.
_FONT_CANDIDATES = (
    '/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf',
    '/usr/share/fonts/noto/NotoColorEmoji.ttf',
    '/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf',
    '/usr/share/fonts/noto-emoji/NotoColorEmoji.ttf',
)
#: The one bitmap size of Noto Color Emoji (CBDT strikes are 109 ppem).
_FONT_SIZE = 109
#: A pixel belongs to an object when its alpha is at least this (0-255);
#: boxes are the tight extent of these pixels.
ALPHA_THRESHOLD = 64
#: The most of an object's box that another object's box may cover.
MAX_COVERED = 0.3
#: Bump when the same arguments draw other images: cached benchmark data
#: and pre-trained trunks stamp it and are regenerated when it changes.
SEMANTIC_GENERATOR_VERSION = 1

#: COCO category (mmdet's ``CocoDataset`` spelling) -> emoji code point.
#: Reviewed by eye from the Noto rendering: only categories whose emoji
#: shows the object itself are listed (no fire hydrant, parking meter,
#: bench, bear body, dining table, microwave, oven, toaster, sink,
#: refrigerator, vase, hair drier, remote, fork, baseball bat / glove,
#: surfboard, snowboard, tennis racket). ``bear``, ``zebra`` and
#: ``giraffe`` are faces (the emoji has no full body).
COCO_EMOJI: Dict[str, str] = {
    'person': '1f9cd',         # standing person
    'bicycle': '1f6b2',
    'car': '1f697',            # automobile
    'motorcycle': '1f3cd',
    'airplane': '2708',
    'bus': '1f68c',
    'train': '1f686',
    'truck': '1f69a',          # delivery truck
    'boat': '26f5',            # sailboat
    'traffic light': '1f6a6',  # vertical traffic light
    'stop sign': '1f6d1',      # octagonal sign
    'bird': '1f426',
    'cat': '1f408',
    'dog': '1f415',
    'horse': '1f40e',
    'sheep': '1f411',          # ewe
    'cow': '1f404',
    'elephant': '1f418',
    'bear': '1f43b',           # face
    'zebra': '1f993',          # face
    'giraffe': '1f992',        # face
    'backpack': '1f392',
    'umbrella': '2602',
    'handbag': '1f45c',
    'tie': '1f454',            # necktie (on a shirt)
    'suitcase': '1f9f3',       # luggage
    'frisbee': '1f94f',        # flying disc
    'skis': '1f3bf',
    'sports ball': '26bd',     # soccer ball
    'kite': '1fa81',
    'skateboard': '1f6f9',
    'bottle': '1f37e',
    'wine glass': '1f377',
    'cup': '2615',             # hot beverage (a mug)
    'knife': '1f52a',
    'spoon': '1f944',
    'bowl': '1f963',           # bowl with spoon
    'banana': '1f34c',
    'apple': '1f34e',
    'sandwich': '1f96a',
    'orange': '1f34a',         # tangerine
    'broccoli': '1f966',
    'carrot': '1f955',
    'hot dog': '1f32d',
    'pizza': '1f355',
    'donut': '1f369',
    'cake': '1f382',           # birthday cake
    'chair': '1fa91',
    'couch': '1f6cb',          # couch and lamp
    'potted plant': '1fab4',
    'bed': '1f6cf',
    'toilet': '1f6bd',
    'tv': '1f4fa',
    'laptop': '1f4bb',
    'mouse': '1f5b1',          # computer mouse
    'keyboard': '2328',
    'cell phone': '1f4f1',
    'book': '1f4d5',           # closed book
    'clock': '23f0',           # alarm clock
    'scissors': '2702',
    'teddy bear': '1f9f8',
    'toothbrush': '1faa5',
}

#: LVIS v1 names (not COCO names) -> code point: the source set of the
#: pre-trained start (animals, food, instruments, tools, vehicles).
SOURCE_EMOJI: Dict[str, str] = {
    'lion': '1f981', 'tiger': '1f405', 'monkey': '1f412',
    'rabbit': '1f407', 'hog': '1f416', 'goat': '1f410', 'deer': '1f98c',
    'turtle': '1f422', 'penguin': '1f427', 'duck': '1f986',
    'chicken_(animal)': '1f413', 'crab_(animal)': '1f980',
    'butterfly': '1f98b', 'owl': '1f989', 'camel': '1f42b',
    'frog': '1f438', 'shark': '1f988', 'dolphin': '1f42c',
    'grape': '1f347', 'watermelon': '1f349', 'lemon': '1f34b',
    'strawberry': '1f353', 'cherry': '1f352', 'pineapple': '1f34d',
    'tomato': '1f345', 'hamburger': '1f354', 'cookie': '1f36a',
    'egg': '1f95a', 'pear': '1f350', 'peach': '1f351',
    'avocado': '1f951', 'bell_pepper': '1fad1', 'mushroom': '1f344',
    'guitar': '1f3b8', 'saxophone': '1f3b7', 'violin': '1f3bb',
    'drum_(musical_instrument)': '1f941', 'hammer': '1f528',
    'wrench': '1f527', 'key': '1f511', 'flashlight': '1f526',
    'ambulance': '1f691', 'tractor_(farm_equipment)': '1f69c',
    'helicopter': '1f681', 'motor_scooter': '1f6f5',
    'fire_engine': '1f692', 'police_cruiser': '1f693', 'snowman': '26c4',
}

#: Unlabelled clutter: faces, hearts, stars, plants, weather, signs.
DISTRACTOR_EMOJI: Tuple[str, ...] = (
    '1f600', '1f602', '1f60d', '1f914', '1f47b', '2764', '2b50', '267b',
    '26a0', '1f536', '1f338', '1f33b', '1f333', '1f335', '1f340',
    '2601', '26a1', '1f308', '1f4a7', '1f525')


def find_emoji_font(font: Optional[str] = None) -> str:
    """Path of the emoji font: ``font``, ``$MMDET_CLIPJOINT_EMOJI_FONT`` or a
    system copy of Noto Color Emoji.

    Raises:
        FileNotFoundError: None of them exists; the message says how to
            install the font or point at one.
    """
    given = font or os.environ.get(EMOJI_FONT_ENV)
    if given:
        if not osp.isfile(given):
            src = 'font' if font else f'${EMOJI_FONT_ENV}'
            raise FileNotFoundError(
                f'emoji font {given!r} (from {src}) does not exist. Give '
                'the path of NotoColorEmoji.ttf, or a folder of PNGs named '
                'by code point as `art_dir` instead.')
        return given
    for path in _FONT_CANDIDATES:
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        'the semantic benchmark draws its objects with Noto Color Emoji, '
        'which is not installed (looked in ' + ', '.join(_FONT_CANDIDATES) +
        '). Install it with `make setup` (as root) or `apt-get install '
        'fonts-noto-color-emoji`, or set '
        f'{EMOJI_FONT_ENV}=/path/to/NotoColorEmoji.ttf, or pass a folder of '
        'PNGs named by code point (e.g. 1f68c.png) as `art_dir`.')


def _crop_to_alpha(img: Image.Image) -> Image.Image:
    """``img`` (RGBA) cropped to its pixels with alpha >= ALPHA_THRESHOLD;
    fainter pixels are cleared so that nothing is drawn outside the box."""
    arr = np.array(img)
    keep = arr[..., 3] >= ALPHA_THRESHOLD
    if not keep.any():
        raise ValueError('the picture is empty (no pixel with alpha >= '
                         f'{ALPHA_THRESHOLD})')
    arr[~keep] = 0
    ys, xs = np.nonzero(keep)
    return Image.fromarray(arr[ys.min():ys.max() + 1, xs.min():xs.max() + 1])


class EmojiArt:
    """Emoji pictures by code point, as RGBA images cropped to their alpha.

    Args:
        font: Path of an emoji font (default: :func:`find_emoji_font`).
        art_dir: A folder of PNGs named by code point instead of the font
            (``1f68c.png``; upper case, an ``emoji_u`` prefix and ``-fe0f``
            suffixes are accepted), to re-run the benchmark with other art.
    """

    def __init__(self, font: Optional[str] = None,
                 art_dir: Optional[str] = None) -> None:
        self.art_dir = art_dir
        self.font_path = None if art_dir else find_emoji_font(font)
        self._font = None
        self._sprites: Dict[str, Image.Image] = {}
        self._files: Dict[str, str] = {}
        if art_dir is not None:
            if not osp.isdir(art_dir):
                raise FileNotFoundError(f'art_dir {art_dir!r} is not a '
                                        'folder of PNGs named by code point.')
            for path in glob.glob(osp.join(art_dir, '*.png')):
                key = osp.basename(path)[:-4].lower()
                key = key.replace('emoji_u', '').replace('-fe0f', '')
                self._files[key.replace('_fe0f', '')] = path

    @property
    def source(self) -> str:
        """What the pictures come from (font file or folder)."""
        return self.art_dir or self.font_path

    def _notdef(self) -> np.ndarray:
        """The font's picture of a character it lacks (private use area)."""
        return self._render_char('\ue000')

    def _render_char(self, ch: str) -> np.ndarray:
        if self._font is None:
            self._font = ImageFont.truetype(self.font_path, _FONT_SIZE)
        img = Image.new('RGBA', (160, 160), (0, 0, 0, 0))
        ImageDraw.Draw(img).text((0, 0), ch, font=self._font,
                                 embedded_color=True)
        return np.array(img)

    def sprite(self, code_point: str) -> Image.Image:
        """The picture of ``code_point`` (hex, e.g. ``'1f68c'``), RGBA,
        cropped to its alpha (cached; treat as read-only)."""
        key = code_point.lower()
        if key in self._sprites:
            return self._sprites[key]
        if self.art_dir is not None:
            if key not in self._files:
                raise FileNotFoundError(
                    f'no picture of code point {key} in {self.art_dir} '
                    f'(expected {key}.png)')
            img = Image.open(self._files[key]).convert('RGBA')
        else:
            arr = self._render_char(chr(int(key, 16)))
            if not (arr[..., 3] > 0).any() or np.array_equal(
                    arr, self._notdef()):
                raise ValueError(f'the font {self.font_path} has no picture '
                                 f'of code point {key}')
            img = Image.fromarray(arr)
        self._sprites[key] = _crop_to_alpha(img)
        return self._sprites[key]


def render_object(sprite: Image.Image, rng: np.random.Generator,
                  size: float, jitter: bool = True) -> Image.Image:
    """One drawing of an object: ``sprite`` scaled so that its longer side
    is ``size`` px, flipped, rotated, colour / brightness / blur jittered,
    and cropped to its alpha (so its box is its extent).

    The random numbers are drawn in a fixed order whatever ``jitter`` says
    is applied, so the stream (and the rest of the image) does not depend
    on it.

    Returns:
        Image.Image: RGBA, every pixel with alpha < ALPHA_THRESHOLD cleared.
    """
    flip = rng.uniform() < 0.5
    angle = rng.uniform(-20, 20)
    bright, sat = rng.uniform(0.75, 1.25), rng.uniform(0.7, 1.3)
    blur = rng.uniform() < 0.3
    radius = rng.uniform(0.3, 1.0)
    w, h = sprite.size
    scale = size / max(w, h)
    img = sprite.resize((max(2, round(w * scale)), max(2, round(h * scale))),
                        Image.BILINEAR)
    if not jitter:
        return _crop_to_alpha(img)
    if flip:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    img = img.rotate(angle, resample=Image.BILINEAR, expand=True)
    rgb, alpha = img.convert('RGB'), img.getchannel('A')
    rgb = ImageEnhance.Color(ImageEnhance.Brightness(rgb).enhance(bright))
    rgb = rgb.enhance(sat)
    img = Image.merge('RGBA', (*rgb.split(), alpha))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    return _crop_to_alpha(img)


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """Cluttered background: a random gradient with noise, then faint
    rectangles, ellipses and lines."""
    base = rng.integers(70, 220, size=3)
    gx = np.linspace(0, 1, w)[None, :, None]
    gy = np.linspace(0, 1, h)[:, None, None]
    tilt = rng.uniform(-50, 50, size=(2, 3))
    arr = base + gx * tilt[0] + gy * tilt[1] + rng.normal(0, 10, (h, w, 3))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 7))):
        x0, x1, y0, y1 = np.sort(rng.uniform(0, 1, 4).reshape(2, 2),
                                 axis=0).T.ravel() * [w, w, h, h]
        c = tuple(int(v) for v in rng.integers(50, 230, size=3))
        kind = int(rng.integers(3))
        box = [x0, y0, x1, y1]
        if kind == 0:
            draw.rectangle(box, outline=c, width=int(rng.integers(1, 3)))
        elif kind == 1:
            draw.ellipse(box, outline=c, width=int(rng.integers(1, 3)))
        else:
            draw.line(box, fill=c, width=int(rng.integers(1, 3)))
    return img


def _covered(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection of two ``[x, y, w, h]`` boxes over the smaller one's
    area: how much of the smaller object the other can hide (IoU would let
    a small object sit wholly inside a large one)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (min(a[2] * a[3], b[2] * b[3]) + 1e-9)


def _render_scene(rng: np.random.Generator, art: EmojiArt, w: int, h: int,
                  code_points: Sequence[str], objects: Tuple[int, int],
                  size_range: Tuple[float, float], distractors: int,
                  class_p: Optional[np.ndarray],
                  occlusion: float) -> Tuple[Image.Image, List[Dict]]:
    """One image: background, distractor emoji, then the objects (no box
    more than MAX_COVERED inside another; an object that finds no such
    place in 10 tries is left out), then occluding patches.

    Returns:
        tuple: The RGB image and ``[dict(bbox=[x, y, w, h], label=i)]``
        (``label`` indexes ``code_points``).
    """
    img = _background(rng, w, h).convert('RGBA')
    short = min(w, h)
    for _ in range(int(rng.integers(0, distractors + 1))):
        cp = DISTRACTOR_EMOJI[int(rng.integers(len(DISTRACTOR_EMOJI)))]
        obj = render_object(art.sprite(cp), rng,
                            rng.uniform(*size_range) * short * 0.7)
        obj.putalpha(obj.getchannel('A').point(lambda a: a * 3 // 5))
        x = int(rng.integers(-obj.width // 3, w - obj.width * 2 // 3 + 1))
        y = int(rng.integers(-obj.height // 3, h - obj.height * 2 // 3 + 1))
        img.alpha_composite(obj, (max(x, 0), max(y, 0)),
                            (max(-x, 0), max(-y, 0)))
    anns: List[Dict] = []
    for _ in range(int(rng.integers(objects[0], objects[1] + 1))):
        label = int(rng.integers(len(code_points))) if class_p is None \
            else int(rng.choice(len(code_points), p=class_p))
        obj = render_object(art.sprite(code_points[label]), rng,
                            rng.uniform(*size_range) * short)
        ow, oh = min(obj.width, w), min(obj.height, h)
        obj = obj.crop((0, 0, ow, oh)) if (ow, oh) != obj.size else obj
        for _try in range(10):
            x = int(rng.integers(0, w - ow + 1))
            y = int(rng.integers(0, h - oh + 1))
            box = [x, y, ow, oh]
            if all(_covered(box, a['bbox']) < MAX_COVERED for a in anns):
                break
        else:
            continue
        img.alpha_composite(obj, (x, y))
        anns.append(dict(bbox=[float(v) for v in box], label=label))
    # partial occlusion: a flat patch over one side of some objects
    for ann in anns:
        if rng.uniform() < occlusion:
            x, y, bw, bh = ann['bbox']
            ox = x + rng.uniform(0.55, 0.8) * bw
            oy = y + rng.uniform(0, 0.5) * bh
            c = tuple(int(v) for v in rng.integers(60, 220, size=3))
            ImageDraw.Draw(img).rectangle([ox, oy, x + bw, oy + 0.4 * bh],
                                          fill=c + (255, ))
    return img.convert('RGB'), anns


def semantic_grounding_record(rng: np.random.Generator, file_name: str,
                              width: int, height: int,
                              names: Sequence[str],
                              boxes: Sequence[Sequence[float]],
                              synonym_prob: float = 0.5) -> Dict:
    """One ODVG grounding line: a caption naming every object.

    Each object is named by its class's readable name or, with probability
    ``synonym_prob``, by one of its LVIS synonyms
    (:func:`~mmdet_clipjoint.datasets.synonyms.class_phrases`), in a caption
    "a photo of a dog, an automobile and a cat."; each region holds the
    object's box (``x1 y1 x2 y2``), the phrase and its character span.

    Args:
        rng (np.random.Generator): Picks the names (its own stream: the
            images do not change with it).
        file_name (str): The image, relative to the split folder.
        width / height (int): Image size.
        names (Sequence[str]): Class of each object, N.
        boxes (Sequence[Sequence[float]]): N COCO boxes ``[x, y, w, h]``.
        synonym_prob (float): Probability of a synonym (when the class has
            one).

    Returns:
        dict: ``filename``, ``height``, ``width`` and ``grounding``
        (``caption``, ``regions``).
    """
    if len(names) != len(boxes):
        raise ValueError(f'{len(names)} names for {len(boxes)} boxes')
    caption = 'a photo of '
    regions = []
    for k, (name, (x, y, bw, bh)) in enumerate(zip(names, boxes)):
        options = class_phrases(name)
        phrase = options[0]
        if len(options) > 1 and rng.uniform() < synonym_prob:
            phrase = options[1 + int(rng.integers(len(options) - 1))]
        if k:
            caption += ' and ' if k == len(names) - 1 else ', '
        caption += 'an ' if phrase[0] in 'aeiou' else 'a '
        regions.append(dict(bbox=[x, y, x + bw, y + bh], phrase=phrase,
                            tokens_positive=[[len(caption),
                                              len(caption) + len(phrase)]]))
        caption += phrase
    return dict(filename=file_name, height=int(height), width=int(width),
                grounding=dict(caption=caption + '.', regions=regions))


def make_semantic_dataset(out_dir: str,
                          classes: Sequence[str],
                          num_train: int = 64,
                          num_val: int = 16,
                          img_size: Tuple[int, int] = (160, 160),
                          objects_per_image: Tuple[int, int] = (1, 4),
                          size_range: Tuple[float, float] = (0.2, 0.6),
                          distractors: int = 2,
                          seed: int = 0,
                          class_weights: Optional[Sequence[float]] = None,
                          unlabelled_classes: Sequence[str] = (),
                          occlusion: float = 0.15,
                          emoji: Optional[Dict[str, str]] = None,
                          font: Optional[str] = None,
                          art_dir: Optional[str] = None,
                          odvg: bool = False,
                          synonym_prob: float = 0.5) -> Dict:
    """Generate a COCO-format detection set of emoji objects.

    Layout under ``out_dir`` (as :func:`make_synthetic_dataset`)::

        annotations/instances_train.json, annotations/instances_val.json
        train/000000.jpg ..., val/000000.jpg ...

    Args:
        out_dir: Output directory (created).
        classes: Class names, keys of ``emoji`` (default table:
            :data:`COCO_EMOJI`, then :data:`SOURCE_EMOJI`).
        num_train / num_val: Images per split (either may be 0).
        img_size: ``(width, height)``.
        objects_per_image: Inclusive ``(min, max)`` objects per image.
        size_range: Longer side of an object as a fraction of the short
            image side (small to large).
        distractors: Maximum unlabelled distractor emoji per image.
        seed: Everything is deterministic given the seed (and the art).
        class_weights: Relative class frequencies (``classes`` order),
            e.g. a long tail; default uniform.
        unlabelled_classes: Classes drawn in the *training* images without
            a box (the zero-shot protocol's novel classes: the objects are
            there, unannotated, as in real data); they are not categories of
            the training file. The val split annotates every class.
        occlusion: Probability that an object is partly covered.
        emoji: ``{class name: code point}`` (default: the shipped tables).
        font / art_dir: The art (see :class:`EmojiArt`).
        odvg: Also write ``annotations/odvg_{train,val}.jsonl``, the same
            images as grounding lines (:func:`semantic_grounding_record`)
            naming every drawn object (``unlabelled_classes`` included:
            a grounding source names what the box labels leave out), and
            ``annotations/captions_{train,val}.json``, their caption view
            (boxes dropped; :class:`CaptionPhraseDataset`). The images and
            COCO files are the same with or without it.
        synonym_prob: With ``odvg``: how often an object is named by an
            LVIS synonym instead of its class name.

    Returns:
        dict: ``classes``, ``data_root``, ``{train,val}_ann_file`` and
        ``{train,val}_img_prefix`` (as :func:`make_synthetic_dataset`),
        plus ``code_points`` and ``art`` (and ``{train,val}_odvg_file`` /
        ``{train,val}_caption_file`` with ``odvg``).
    """
    table = dict(SOURCE_EMOJI, **COCO_EMOJI) if emoji is None else emoji
    classes = tuple(classes)
    missing = [c for c in classes if c not in table]
    if missing:
        raise ValueError(f'no emoji for classes {missing}; the COCO table '
                         f'(COCO_EMOJI) names {sorted(COCO_EMOJI)}')
    if len(set(classes)) != len(classes):
        raise ValueError(f'classes repeat a name: {classes}')
    unlabelled = set(unlabelled_classes)
    if unlabelled - set(classes):
        raise ValueError('unlabelled_classes must be classes, not '
                         f'{sorted(unlabelled - set(classes))}')
    class_p = class_probabilities(class_weights, len(classes))
    if not 0 < size_range[0] <= size_range[1] <= 1:
        raise ValueError(f'size_range={size_range} must be 0 < min <= max '
                         '<= 1 (fractions of the short image side)')
    art = EmojiArt(font, art_dir)
    code_points = [table[c] for c in classes]
    w, h = int(img_size[0]), int(img_size[1])
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    info = dict(classes=classes, data_root=out_dir,
                code_points=code_points, art=art.source)
    for split_idx, (split, n) in enumerate((('train', num_train),
                                            ('val', num_val))):
        rng = np.random.default_rng([seed, split_idx])
        # the names of the grounding captions: a stream of their own
        name_rng = np.random.default_rng([seed, split_idx, 1])
        odvg_lines = []
        keep = [c for c in classes
                if split == 'val' or c not in unlabelled]
        cat_id = {c: k + 1 for k, c in enumerate(keep)}
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, annotations = [], []
        for i in range(n):
            img, anns = _render_scene(rng, art, w, h, code_points,
                                      objects_per_image, size_range,
                                      distractors, class_p, occlusion)
            file_name = f'{i:06d}.jpg'
            img.save(osp.join(out_dir, split, file_name), quality=95)
            images.append(dict(id=i + 1, file_name=file_name, width=w,
                               height=h))
            if odvg:
                odvg_lines.append(json.dumps(semantic_grounding_record(
                    name_rng, file_name, w, h,
                    [classes[a['label']] for a in anns],
                    [a['bbox'] for a in anns], synonym_prob)))
            for ann in anns:
                name = classes[ann['label']]
                if name not in cat_id:
                    continue
                bw, bh = ann['bbox'][2:]
                annotations.append(
                    dict(id=len(annotations) + 1, image_id=i + 1,
                         category_id=cat_id[name], bbox=ann['bbox'],
                         area=bw * bh, iscrowd=0))
        coco = dict(images=images, annotations=annotations,
                    categories=[dict(id=cat_id[c], name=c) for c in keep])
        ann_file = osp.join('annotations', f'instances_{split}.json')
        with open(osp.join(out_dir, ann_file), 'w') as f:
            json.dump(coco, f)
        info[f'{split}_ann_file'] = ann_file
        if odvg:
            odvg_file = osp.join('annotations', f'odvg_{split}.jsonl')
            with open(osp.join(out_dir, odvg_file), 'w') as f:
                f.write(''.join(line + '\n' for line in odvg_lines))
            info[f'{split}_odvg_file'] = odvg_file
            # the caption view of the same lines (boxes dropped), for
            # CaptionPhraseDataset
            captions = [dict(image=r['filename'], width=w, height=h,
                             caption=r['grounding']['caption'],
                             phrases=list(dict.fromkeys(
                                 g['phrase']
                                 for g in r['grounding']['regions'])))
                        for r in map(json.loads, odvg_lines)]
            cap_file = osp.join('annotations', f'captions_{split}.json')
            with open(osp.join(out_dir, cap_file), 'w') as f:
                json.dump(captions, f)
            info[f'{split}_caption_file'] = cap_file
        info[f'{split}_img_prefix'] = split + '/'
        if split == 'train' and unlabelled:
            info['train_classes'] = tuple(keep)
    return info
