# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Post-processing of :class:`~mmdet.apis.DetInferencer` results."""
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

__all__ = ['name_prediction_labels']


def name_prediction_labels(result: Dict, names: Sequence[str],
                           pred_dir: Optional[str] = None) -> None:
    """Put the class names next to the label ids.

    Args:
        result (dict): What ``DetInferencer.__call__`` returned; each of its
            ``predictions`` gets ``label_names`` (in place).
        names (Sequence[str]): ``dataset_meta['classes']``.
        pred_dir (str, optional): A folder of the inferencer's prediction
            JSON files, rewritten with ``label_names`` too.
    """
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
