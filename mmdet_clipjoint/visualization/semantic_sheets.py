# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Pictures of the semantic world for its docs: every class with its emoji,
and a strip of generated images with their labelled boxes."""
import json
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = [
    'draw_class_sheet', 'draw_example_strip', 'plot_rare_vs_neighbour'
]


def _font(size):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def draw_class_sheet(table: Dict[str, str], out: str, art=None,
                     cell: int = 96, columns: int = 10) -> str:
    """A grid of ``{class name: code point}``: each picture above its name
    and code point. Returns ``out`` (PNG)."""
    from PIL import Image, ImageDraw
    from ..datasets import EmojiArt
    art = art or EmojiArt()
    rows = -(-len(table) // columns)
    sheet = Image.new('RGB', (columns * cell, rows * (cell + 26)),
                      (255, 255, 255))
    draw, font = ImageDraw.Draw(sheet), _font(12)
    for k, (name, cp) in enumerate(table.items()):
        x, y = (k % columns) * cell, (k // columns) * (cell + 26)
        sprite = art.sprite(cp)
        s = (cell - 16) / max(sprite.size)
        pic = sprite.resize((max(1, round(sprite.width * s)),
                             max(1, round(sprite.height * s))),
                            Image.LANCZOS)
        sheet.paste(pic, (x + (cell - pic.width) // 2, y + 4 +
                          (cell - 16 - pic.height) // 2), pic)
        for i, text in enumerate((name, f'U+{cp.upper()}')):
            w = draw.textlength(text, font=font)
            draw.text((x + (cell - w) / 2, y + cell - 8 + 13 * i), text,
                      fill=(0, 0, 0), font=font)
    sheet.save(out)
    return out


def draw_example_strip(data: dict, out: str, num: int = 6,
                       split: str = 'train', scale: int = 2,
                       rare: Optional[Sequence[str]] = None) -> str:
    """``num`` generated images side by side, enlarged ``scale`` times, with
    their boxes and class names (rare classes in red). ``data`` is the
    output of :func:`~mmdet_clipjoint.datasets.make_semantic_dataset`.
    Returns ``out`` (PNG)."""
    from PIL import Image, ImageDraw
    root = data['data_root']
    with open(osp.join(root, data[f'{split}_ann_file'])) as f:
        coco = json.load(f)
    names = {c['id']: c['name'] for c in coco['categories']}
    rare = set(rare or ())
    panels = []
    for im in coco['images'][:num]:
        img = Image.open(osp.join(root, data[f'{split}_img_prefix'],
                                  im['file_name'])).convert('RGB')
        img = img.resize((img.width * scale, img.height * scale),
                         Image.LANCZOS)
        draw, font = ImageDraw.Draw(img), _font(13)
        for ann in coco['annotations']:
            if ann['image_id'] != im['id']:
                continue
            x, y, w, h = (v * scale for v in ann['bbox'])
            name = names[ann['category_id']]
            colour = (220, 0, 0) if name in rare else (0, 90, 255)
            draw.rectangle([x, y, x + w - 1, y + h - 1], outline=colour,
                           width=2)
            tw = draw.textlength(name, font=font)
            draw.rectangle([x, y, x + tw + 4, y + 15], fill=colour)
            draw.text((x + 2, y + 1), name, fill=(255, 255, 255), font=font)
        panels.append(np.asarray(img))
    gap = np.full((panels[0].shape[0], 4, 3), 255, np.uint8)
    strip = np.concatenate(sum(([p, gap] for p in panels), [])[:-1], 1)
    Image.fromarray(strip).save(out)
    return out


def plot_rare_vs_neighbour(runs: Sequence[dict], classes: Sequence[str],
                           rare: Sequence[str], out: str,
                           setting: str = 'imbalanced',
                           detector: str = 'rtmdet',
                           methods: Sequence[str] = (
                               'clipjoint', 'clipjoint-random-text',
                               'clipjoint-permuted')) -> str:
    """Per rare class: its AP minus stock's (mean over the paired seeds)
    against the CLIP cosine to its nearest frequent class, one marker per
    method. Returns ``out`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from ..benchmark.semantic import clip_similarity
    sim = clip_similarity(classes)
    idx = {c: i for i, c in enumerate(classes)}
    frequent = [c for c in classes if c not in set(rare)]
    near = {c: max(sim[idx[c], idx[f]] for f in frequent) for c in rare}
    ap = {}
    for r in runs:
        if r['detector'] == detector and r['setting'] == setting:
            for c in rare:
                v = r['metrics'].get(f'coco/{c}_precision', float('nan'))
                ap[(r['method'], r['seed'], c)] = 0.0 if v != v else v
    fig, ax = plt.subplots(figsize=(6, 4))
    for m, marker in zip(methods, 'os^vD'):
        xs, ys, names = [], [], []
        for c in rare:
            d = [ap[(m, s, c)] - ap[('stock', s, c)]
                 for (mm, s, cc) in ap
                 if (mm, cc) == (m, c) and ('stock', s, c) in ap]
            if d:
                xs.append(near[c])
                ys.append(100 * float(np.mean(d)))
                names.append(c)
        ax.scatter(xs, ys, marker=marker, label=m)
        if m == methods[0]:
            for x, y, c in zip(xs, ys, names):
                ax.annotate(c, (x, y), fontsize=8, xytext=(3, 3),
                            textcoords='offset points')
    ax.axhline(0, color='grey', lw=0.8)
    ax.set_xlabel('CLIP cosine to the nearest frequent class')
    ax.set_ylabel('AP of the rare class − stock (x 100)')
    ax.set_title(f'{detector}, {setting}: rare classes')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
