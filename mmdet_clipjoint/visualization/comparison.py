# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Ground truth next to two detectors' predictions, at a readable size, on
COCO-format validation images (the picture of ``make demo``), and one
detector's predictions on a few images (``demo/open_vocab_demo.py --sheet``).

Detectors' scores live on different scales (a ClipJoint head, a stock
RTMDet trained under label noise, ``clip`` / ``fuse`` scores), so one fixed
threshold can show one model's boxes and hide all of another's. Each model
is drawn at its own threshold: the score at which its F1 on the validation
images is best (:func:`best_f1_threshold`), else the default of its score
mode; a panel with no box over that threshold still shows the model's best
box when it scores at least ``min_score``, marked as such in the title.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'draw_panel', 'draw_comparison', 'best_f1_threshold', 'select_boxes',
    'describe_setting'
]

#: colours of the panels (RGB)
_COLOURS = dict(gt=(20, 130, 20), stock=(200, 90, 0), clipjoint=(30, 80, 200))


def _font(size):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def describe_setting(setting: str, spec: Optional[dict] = None) -> str:
    """A setting of the training labels, in words.

    Args:
        setting (str): Its name (``clean``, ``both``, ...).
        spec (dict, optional): Its entry of
            :data:`mmdet_clipjoint.benchmark.experiments.SETTINGS`
            (``imbalance_ratio``, ``noise_rate``; default: looked up).

    Returns:
        str: e.g. ``"both = long tail (most / least frequent class 50:1) +
        30 % of the training labels flipped to another class"``.
    """
    if spec is None:
        from ..benchmark.experiments import SETTINGS
        spec = SETTINGS.get(setting, {})
    parts = []
    if spec.get('imbalance_ratio'):
        parts.append('long tail (most / least frequent class '
                     f'{spec["imbalance_ratio"]:g}:1)')
    if spec.get('noise_rate'):
        parts.append(f'{100 * spec["noise_rate"]:g} % of the training '
                     'labels flipped to another class')
    return f'{setting} = ' + (' + '.join(parts) if parts else
                              'the labels as generated')


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box (4,) with boxes (M, 4)."""
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)

    def area(b):
        return np.prod(np.clip(b[..., 2:] - b[..., :2], 0, None), axis=-1)

    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def best_f1_threshold(preds: Sequence[Tuple[np.ndarray, np.ndarray,
                                            np.ndarray]],
                      gts: Sequence[Tuple[np.ndarray, np.ndarray]],
                      iou_thr: float = 0.5) -> Tuple[Optional[float], float]:
    """The score threshold at which a detector's F1 on a set of images is
    best (a box is right when it has the class of an unmatched ground-truth
    box it overlaps by ``iou_thr`` or more, higher scores matched first).

    Args:
        preds: Per image ``(bboxes (N, 4) xyxy, scores (N,), labels (N,))``.
        gts: Per image ``(bboxes (M, 4) xyxy, labels (M,))``.
        iou_thr (float): IoU of a match.

    Returns:
        tuple: ``(threshold, F1 at it)``; ``(None, 0.0)`` when no box is
        right at any threshold.
    """
    scores, hits = [], []
    num_gt = 0
    for (boxes, sc, labels), (gt_boxes, gt_labels) in zip(preds, gts):
        boxes, sc, labels = (np.asarray(boxes, np.float64).reshape(-1, 4),
                             np.asarray(sc, np.float64).reshape(-1),
                             np.asarray(labels).reshape(-1))
        gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
        gt_labels = np.asarray(gt_labels).reshape(-1)
        num_gt += len(gt_labels)
        free = np.ones(len(gt_labels), bool)
        for i in np.argsort(-sc, kind='stable'):
            cand = free & (gt_labels == labels[i])
            hit = False
            if cand.any():
                iou = np.where(cand, _iou(boxes[i], gt_boxes), -1.0)
                j = int(iou.argmax())
                if iou[j] >= iou_thr:
                    free[j] = False
                    hit = True
            scores.append(sc[i])
            hits.append(hit)
    if not any(hits):
        return None, 0.0
    order = np.argsort(-np.asarray(scores), kind='stable')
    sc = np.asarray(scores)[order]
    tp = np.cumsum(np.asarray(hits)[order])
    f1 = 2 * tp / (np.arange(1, len(sc) + 1) + num_gt)
    # a threshold keeps every box of its score: look at the last of each
    last = np.r_[sc[1:] != sc[:-1], True]
    k = int(np.flatnonzero(last)[np.argmax(f1[last])])
    return float(sc[k]), float(f1[k])


def select_boxes(scores: Sequence[float], thr: float,
                 min_score: float = 0.05) -> Tuple[List[int], bool]:
    """The boxes of one panel: those scoring at least ``thr``; when there is
    none, the best box if it scores at least ``min_score``.

    Returns:
        tuple: (indices, whether the best box stands in for an empty
        selection).
    """
    scores = np.asarray(scores, np.float64).reshape(-1)
    keep = np.flatnonzero(scores >= thr).tolist()
    if keep or not len(scores) or scores.max() < min_score:
        return keep, False
    return [int(scores.argmax())], True


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


def _caption(lines: Sequence[str], width: int) -> np.ndarray:
    """White bar with ``lines`` of text, ``width`` pixels wide."""
    from PIL import Image, ImageDraw
    bar = Image.new('RGB', (width, 8 + 18 * len(lines)), 'white')
    d = ImageDraw.Draw(bar)
    for k, line in enumerate(lines):
        d.text((6, 4 + 18 * k), line, fill='black', font=_font(14))
    return np.asarray(bar)


def _predict(model, paths: Sequence[str]) -> list:
    from mmdet.apis import inference_detector
    out = []
    for path in paths:
        pred = inference_detector(model, path).pred_instances
        out.append((pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy(),
                    pred.labels.cpu().numpy()))
    return out


def draw_comparison(models: Dict[str, object],
                    metrics: Dict[tuple, dict],
                    setting: str,
                    data: dict,
                    num_show: int,
                    thr: Optional[float],
                    out: str,
                    min_score: float = 0.05,
                    names: Optional[Dict[str, str]] = None) -> dict:
    """Ground truth | stock | ClipJoint on ``num_show`` validation images,
    at a readable size (panels about 360 px), each model drawn at its own
    threshold (shown in its panel titles with its mAP), under a caption that
    says what the labels of ``setting`` were and what the mAP is.

    Args:
        models: ``{'stock': model, 'clipjoint': model}`` with ``model.cfg``
            set (``inference_detector``): the evaluated weights.
        metrics: ``{(setting, method): evaluation metrics}`` (mmdet's
            ``coco/bbox_mAP``, a fraction).
        setting: The setting of ``models`` (for the titles).
        data: ``make_synthetic_dataset`` output (the val split).
        num_show: Images (rows).
        thr: One threshold for every model, or None: each model's best-F1
            threshold on the validation images (:func:`best_f1_threshold`;
            the default of its score mode,
            :func:`mmdet_clipjoint.apis.thresholds.default_score_thr`, when
            none of its boxes is right).
        out: The PNG to write.
        min_score: A panel with no box over its model's threshold shows the
            model's best box when it scores at least this.
        names: Display names of the methods (default: stock, ClipJoint).

    Returns:
        dict: ``path`` (``out``), ``thresholds`` (``{method: (threshold,
        how it was chosen)}``) and ``panels`` (one dict per model panel:
        ``image``, ``method``, ``drawn`` boxes, ``best`` score, ``fallback``
        when the best box stands in for an empty panel).
    """
    from PIL import Image

    from ..apis.thresholds import default_score_thr
    names = names or dict(stock='stock', clipjoint='ClipJoint')
    with open(osp.join(data['data_root'], data['val_ann_file'])) as f:
        ann = json.load(f)
    cat_index = {c['id']: i for i, c in enumerate(ann['categories'])}
    val_dir = osp.join(data['data_root'], data['val_img_prefix'])
    classes = data['classes']
    images = sorted(ann['images'], key=lambda x: x['file_name'])
    gts = []
    for img in images:
        objs = [a for a in ann['annotations'] if a['image_id'] == img['id']
                and a['bbox'][2] > 0 and a['bbox'][3] > 0]
        gts.append((np.array([[x, y, x + w, y + h] for x, y, w, h in
                              (a['bbox'] for a in objs)]).reshape(-1, 4),
                    np.array([cat_index[a['category_id']] for a in objs])))
    paths = [osp.join(val_dir, img['file_name']) for img in images]
    preds, thresholds = {}, {}
    for method in ('stock', 'clipjoint'):
        preds[method] = _predict(models[method],
                                 paths if thr is None else paths[:num_show])
        if thr is not None:
            thresholds[method] = (float(thr), 'given')
            continue
        best, _ = best_f1_threshold(preds[method], gts)
        thresholds[method] = (best, 'best F1') if best is not None \
            else (default_score_thr(models[method]), 'mode default')
    rows: List[np.ndarray] = []
    panels = []
    for i, img in enumerate(images[:num_show]):
        scale = max(1, round(360 / max(img['width'], img['height'])))
        row = [draw_panel(
            paths[i], gts[i][0].tolist(), gts[i][1].tolist(), None, classes,
            f'ground truth (val)\n{img["file_name"]}', scale, _COLOURS['gt'])]
        for method in ('stock', 'clipjoint'):
            boxes, scores, labels = preds[method][i]
            t, how = thresholds[method]
            keep, fallback = select_boxes(scores, t, min_score)
            m = metrics[(setting, method)].get('coco/bbox_mAP', 0.0)
            n = len(keep)
            line2 = f'thr {t:.2f} ({how}): ' + (
                '0 boxes, best shown' if fallback else
                f'{n} box{"" if n == 1 else "es"}')
            row.append(draw_panel(
                paths[i], boxes[keep].tolist(), labels[keep].tolist(),
                scores[keep].tolist(), classes,
                f'{names[method]} ({setting}): mAP {m:.3f}\n{line2}', scale,
                _COLOURS[method]))
            panels.append(dict(image=img['file_name'], method=method,
                               drawn=len(keep),
                               best=float(scores.max()) if len(scores)
                               else None, fallback=fallback))
        rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)),
                   constant_values=255) for r in rows]
    caption = _caption([
        f'Training labels: {describe_setting(setting)}.',
        f'mAP: COCO box mAP on the {len(images)} val images, 0-1 (as mmdet '
        'and mim test print it). Each model is drawn at its own score',
        'threshold "thr": its best F1 on val (else its score mode\'s '
        'default); a panel with no box over it shows the best box.'
        if thr is None else f'threshold: {thr} for both models.'
    ], width)
    Image.fromarray(np.concatenate([caption] + rows, axis=0)).save(out)
    return dict(path=out, thresholds=thresholds, panels=panels)


def draw_prediction_sheet(img_paths: Sequence[str],
                          predictions: Sequence[dict],
                          thr: float,
                          out: str,
                          title: str = '',
                          panel_size: int = 360,
                          colour: Tuple[int, int, int] = _COLOURS['clipjoint']
                          ) -> str:
    """Images side by side at a readable size (about ``panel_size`` px),
    each with its predicted boxes scoring at least ``thr`` under their
    class names (the picture of ``demo/open_vocab_demo.py --sheet``).

    Args:
        img_paths: The images, in the order of ``predictions``.
        predictions: ``DetInferencer`` predictions with ``label_names``
            (:func:`mmdet_clipjoint.apis.finish_predictions` adds them):
            ``bboxes`` (N, 4) xyxy of the original image, ``scores`` (N, ),
            ``label_names`` (N, ).
        thr: Boxes below this score are not drawn; a panel without any says
            so in its title, with its best score.
        out: The PNG to write.
        title: Second title line of every panel (e.g. the vocabulary).
        panel_size: Target length of a panel's longer side in pixels.
        colour: Box colour (RGB).

    Returns:
        str: ``out``.
    """
    from PIL import Image
    if len(img_paths) != len(predictions):
        raise ValueError(f'{len(img_paths)} images but {len(predictions)} '
                         'predictions: pass one prediction per image')
    panels = []
    for path, pred in zip(img_paths, predictions):
        with Image.open(path) as im:
            size = max(im.size)
        scale = max(1, round(panel_size / size))
        scores = [float(s) for s in pred.get('scores', [])]
        names = list(pred.get('label_names', []))
        if len(names) != len(scores):
            raise ValueError('a prediction has no label_names: call '
                             'mmdet_clipjoint.apis.finish_predictions first')
        keep = [i for i, s in enumerate(scores) if s >= thr]
        head = osp.basename(path) + (
            f': {len(keep)} box{"" if len(keep) == 1 else "es"}' if keep else
            f': no box >= {thr:g} (best {max(scores, default=0):.3f})')
        panels.append(draw_panel(
            path, [pred['bboxes'][i] for i in keep], list(range(len(keep))),
            [scores[i] for i in keep], [names[i] for i in keep],
            head + (f'\n{title}' if title else ''), scale, colour))
    height = max(p.shape[0] for p in panels)
    gap = np.full((height, 6, 3), 255, np.uint8)
    row = []
    for p in panels:
        row += [np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)),
                       constant_values=255), gap]
    Image.fromarray(np.concatenate(row[:-1], axis=1)).save(out)
    return out
