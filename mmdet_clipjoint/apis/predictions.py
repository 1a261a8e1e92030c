# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Post-processing of :class:`~mmdet.apis.DetInferencer` results."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

__all__ = ['name_prediction_labels', 'report_unshown', 'finish_predictions']


def _class_names(names) -> Sequence[str]:
    """``names`` itself, or the ``dataset_meta['classes']`` of a detector
    or a ``DetInferencer``."""
    if isinstance(names, (list, tuple)):
        return names
    model = getattr(names, 'model', names)
    meta = getattr(model, 'dataset_meta', None)
    if meta is None:
        raise ValueError(
            f'cannot find class names in a {type(names).__name__}: give '
            'the names, a detector or a DetInferencer (whose model has '
            '`dataset_meta`).')
    return list(meta.get('classes') or ())


def name_prediction_labels(result: Dict, names: Union[Sequence[str], object],
                           pred_dir: Optional[str] = None) -> None:
    """Put the class names next to the label ids.

    ``DetInferencer`` returns and saves label ids only; after this call
    each prediction (returned and saved) also has ``label_names``::

        out = inferencer(img, out_dir='outputs/api')
        name_prediction_labels(out, inferencer, 'outputs/api/preds')

    Args:
        result (dict): What ``DetInferencer.__call__`` returned; each of its
            ``predictions`` gets ``label_names`` (in place).
        names (Sequence[str] | DetInferencer | nn.Module): The class names
            (``dataset_meta['classes']``), or the inferencer / detector to
            read them from (after ``set_vocabulary``: the new names).
        pred_dir (str, optional): A folder of the inferencer's prediction
            JSON files (``<out_dir>/preds``), rewritten with
            ``label_names`` too.
    """
    names = _class_names(names)
    def label_names(labels):
        return [names[i] if 0 <= i < len(names) else str(i) for i in labels]

    for pred in result.get('predictions', []):
        if 'labels' in pred:
            pred['label_names'] = label_names(pred['labels'])
    if pred_dir is None or not osp.isdir(pred_dir):
        return
    for fname in os.listdir(pred_dir):
        if not fname.endswith('.json'):
            continue
        path = osp.join(pred_dir, fname)
        with open(path) as f:
            pred = json.load(f)
        pred['label_names'] = label_names(pred.get('labels', []))
        with open(path, 'w') as f:
            json.dump(pred, f)


def report_unshown(result: Dict, thr: float,
                   hint: str = 'lower pred_score_thr to draw some',
                   verbose: bool = True) -> List[str]:
    """Say which images have no box at or above the drawing threshold.

    A drawing without boxes looks like a detector that found nothing; the
    line says the best score instead, e.g. ``image 0: 0 boxes >= thr 0.1
    (best score 0.042); lower pred_score_thr to draw some``.

    Args:
        result (dict): What ``DetInferencer.__call__`` returned.
        thr (float): The ``pred_score_thr`` it drew with.
        hint (str): What to do, at the end of each line.
        verbose (bool): Print the lines.

    Returns:
        list[str]: One line per image without a box to draw.
    """
    lines = []
    for i, pred in enumerate(result.get('predictions', [])):
        scores = pred.get('scores', [])
        if not any(sc >= thr for sc in scores):
            best = f'{max(scores):.3f}' if scores else 'none'
            lines.append(f'image {i}: 0 boxes >= thr {thr} (best score '
                         f'{best}); {hint}')
    if verbose:
        for line in lines:
            print(line)
    return lines


def finish_predictions(result: Dict, names: Union[Sequence[str], object],
                       thr: float, out_dir: str, save_vis: bool = True,
                       save_pred: bool = True) -> None:
    """What a demo does after ``DetInferencer.__call__``: the class names
    next to the label ids (also in the saved JSON predictions), a line per
    image without a box to draw (:func:`report_unshown`), and where the
    results went.

    Args:
        result (dict): What ``DetInferencer.__call__`` returned.
        names (list[str] | DetInferencer | model): The class names, or what
            holds them in ``dataset_meta['classes']``.
        thr (float): The ``pred_score_thr`` it drew with.
        out_dir (str): Its ``out_dir``.
        save_vis (bool): Whether it saved the drawn images.
        save_pred (bool): Whether it saved the JSON predictions.
    """
    name_prediction_labels(result, names,
                           osp.join(out_dir, 'preds') if save_pred else None)
    report_unshown(result, thr, 'lower --pred-score-thr to draw some')
    if save_vis or save_pred:
        print(f'Results saved to {osp.abspath(out_dir)} (vis/: drawn '
              'images, preds/: JSON predictions)')
