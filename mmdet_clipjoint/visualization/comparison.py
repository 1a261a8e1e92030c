# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Ground truth next to two detectors' predictions, at a readable size, on
COCO-format validation images (the picture of ``make demo``)."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['draw_panel', 'draw_comparison']


def _font(size):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def draw_panel(img_path: str, boxes: Sequence[Sequence[float]],
               labels: Sequence[int], scores: Optional[Sequence[float]],
               classes: Sequence[str], title: str, scale: int,
               colour: Tuple[int, int, int]) -> np.ndarray:
    """One panel: the image enlarged ``scale`` times, its boxes (N, 4) in
    original xyxy pixels with ``name score`` labels (``name`` alone when
    ``scores`` is None), and a title bar of up to two lines above.

    A title line wider than the image is wrapped at spaces when the title
    then still fits two lines; otherwise the panel is widened (white on
    the right) so that no title is cut off.

    Returns:
        np.ndarray: The RGB panel, (H * scale + 40, max(W * scale, title
        width), 3) uint8.
    """
    from PIL import Image, ImageDraw
    img = Image.open(img_path).convert('RGB')
    img = img.resize((img.width * scale, img.height * scale),
                     Image.NEAREST)
    draw = ImageDraw.Draw(img)
    font = _font(13)
    for i, (box, label) in enumerate(zip(boxes, labels)):
        x0, y0, x1, y1 = [float(v) * scale for v in box]
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=3)
        text = classes[int(label)] + (f' {scores[i]:.2f}'
                                      if scores is not None else '')
        tw, th = draw.textbbox((0, 0), text, font=font)[2:]
        tx = min(max(0, x0), img.width - tw - 4)
        ty = y0 - th - 4 if y0 - th - 4 >= 0 else min(y1 + 1,
                                                        img.height - th - 4)
        draw.rectangle([tx, ty, tx + tw + 4, ty + th + 4], fill=colour)
        draw.text((tx + 2, ty + 1), text, fill='white', font=font)
    bar, title_font = 40, _font(14)
    lines = _fit_title(title, title_font, img.width - 12)
    width = max([img.width] + [
        int(draw.textbbox((0, 0), ln, font=title_font)[2]) + 12
        for ln in lines])
    canvas = Image.new('RGB', (width, img.height + bar), 'white')
    canvas.paste(img, (0, bar))
    d = ImageDraw.Draw(canvas)
    for k, line in enumerate(lines):
        d.text((6, 3 + 18 * k), line, fill='black', font=title_font)
    return np.asarray(canvas)


def _fit_title(title: str, font, width: int) -> List[str]:
    """The title's (at most two) lines, each wrapped at spaces to
    ``width`` pixels when all of it then fits two lines."""
    from PIL import Image, ImageDraw
    draw = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    lines = title.split('\n')[:2]

    def fits(text):
        return draw.textbbox((0, 0), text, font=font)[2] <= width

    wrapped: List[str] = []
    for line in lines:
        cur = ''
        for word in line.split(' '):
            trial = f'{cur} {word}' if cur else word
            if cur and not fits(trial):
                wrapped.append(cur)
                cur = word
            else:
                cur = trial
        wrapped.append(cur)
    return wrapped if len(wrapped) <= 2 else lines


def draw_comparison(models: Dict[str, object], metrics: Dict[tuple, dict],
                    setting: str, data: dict, num_show: int, thr: float,
                    out: str) -> str:
    """Ground truth | stock | ClipJoint on ``num_show`` validation images,
    at a readable size (panels about 360 px), with the threshold and each
    model's mAP in the titles.

    Args:
        models: ``{'stock': model, 'clipjoint': model}`` with ``model.cfg``
            set (``inference_detector``): the evaluated weights.
        metrics: ``{(setting, method): test metrics}``.
        setting: The setting of ``models`` (for the titles).
        data: ``make_synthetic_dataset`` output (the val split).
        num_show: Images (rows).
        thr: Draw predictions scoring at least this.
        out: The PNG to write.

    Returns:
        str: ``out``.
    """
    from PIL import Image

    from mmdet.apis import inference_detector
    with open(osp.join(data['data_root'], data['val_ann_file'])) as f:
        ann = json.load(f)
    cat_index = {c['id']: i for i, c in enumerate(ann['categories'])}
    val_dir = osp.join(data['data_root'], data['val_img_prefix'])
    classes = data['classes']
    rows: List[np.ndarray] = []
    for img in sorted(ann['images'], key=lambda x: x['file_name'])[:num_show]:
        path = osp.join(val_dir, img['file_name'])
        gts = [a for a in ann['annotations'] if a['image_id'] == img['id']]
        scale = max(1, round(360 / max(img['width'], img['height'])))
        panels = [draw_panel(
            path, [[x, y, x + w, y + h] for x, y, w, h in
                   (a['bbox'] for a in gts)],
            [cat_index[a['category_id']] for a in gts], None, classes,
            f'ground truth (val)\n{img["file_name"]}', scale,
            (20, 130, 20))]
        for method, name, colour in (('stock', 'stock', (200, 90, 0)),
                                     ('clipjoint', 'ClipJoint',
                                      (30, 80, 200))):
            pred = inference_detector(models[method], path).pred_instances
            keep = pred.scores >= thr
            m = metrics[(setting, method)].get('coco/bbox_mAP', 0.0)
            panels.append(draw_panel(
                path, pred.bboxes[keep].tolist(), pred.labels[keep].tolist(),
                pred.scores[keep].tolist(), classes,
                f'{name} ({setting} labels): mAP {100 * m:.1f}\n'
                f'boxes with score >= {thr} '
                f'({int(keep.sum())})', scale, colour))
        rows.append(np.concatenate(panels, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)),
                   constant_values=255) for r in rows]
    Image.fromarray(np.concatenate(rows, axis=0)).save(out)
    return out
