# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Other names of the semantic world's classes (LVIS v1 synonyms).

LVIS v1 lists, for each category, its synonyms (the ``synonyms`` field of
the annotation files' ``categories``); the files cannot be downloaded here,
and the package ships only the category *names* (mmdet's
``LVISV1Dataset.METAINFO``, the rows of the CLIP vocabulary). So
:data:`LVIS_SYNONYMS` is a small hand-reviewed table for the classes the
semantic generator draws (:data:`~mmdet_clipjoint.datasets.COCO_EMOJI`,
:data:`~mmdet_clipjoint.datasets.SOURCE_EMOJI`): the LVIS category's name or
synonyms that name the *drawn picture* too (e.g. "automobile" for the car
emoji, "doughnut" for "donut"). Synonyms that would name another picture are
left out ("man" / "woman" / "child" for the standing-person emoji,
"flowerpot" for the potted plant, "sausage" for the hot dog).

Names are spelled as words: LVIS's underscores become spaces and its
parenthesised qualifiers are dropped (:func:`readable_name`:
``chicken_(animal)`` -> ``chicken``).
"""
import re
from typing import Dict, Tuple

__all__ = ['LVIS_SYNONYMS', 'readable_name', 'class_phrases']

#: class name (COCO spelling for COCO classes, LVIS spelling for the others)
#: -> other names, as words (see the module docstring).
LVIS_SYNONYMS: Dict[str, Tuple[str, ...]] = {
    # COCO classes: the LVIS category's name / synonyms
    'person': ('human', ),
    'bicycle': ('bike', ),
    'car': ('automobile', 'auto'),
    'airplane': ('aeroplane', ),
    'bus': ('autobus', 'motorbus', 'motorcoach'),
    'train': ('railroad train', ),
    'boat': ('ship', ),
    'backpack': ('knapsack', 'rucksack'),
    'handbag': ('purse', 'pocketbook'),
    'tie': ('necktie', ),
    'suitcase': ('luggage', 'baggage'),
    'skis': ('ski', ),
    'sports ball': ('soccer ball', ),
    'wine glass': ('wineglass', ),
    'donut': ('doughnut', ),
    'couch': ('sofa', 'lounge'),
    'tv': ('television set', 'tv set'),
    'laptop': ('laptop computer', 'notebook computer'),
    'mouse': ('computer mouse', ),
    'keyboard': ('computer keyboard', ),
    'cell phone': ('cellular telephone', 'cellphone', 'mobile phone'),
    'clock': ('alarm clock', 'timepiece'),
    # LVIS-only classes of the source set
    'hog': ('pig', ),
    'hamburger': ('burger', 'beefburger'),
    'cookie': ('cooky', ),
    'violin': ('fiddle', ),
    'wrench': ('spanner', ),
    'flashlight': ('torch', ),
    'frog': ('toad', ),
    'bell_pepper': ('capsicum', ),
    'motor_scooter': ('scooter', ),
    'fire_engine': ('fire truck', ),
    'police_cruiser': ('police car', 'patrol car', 'squad car'),
}


def readable_name(name: str) -> str:
    """A class name as words: ``bell_pepper`` -> ``bell pepper``,
    ``chicken_(animal)`` -> ``chicken`` (LVIS qualifiers dropped)."""
    name = re.sub(r'\([^)]*\)', ' ', name.replace('_', ' '))
    return ' '.join(name.split())


def class_phrases(name: str) -> Tuple[str, ...]:
    """Every phrase that names class ``name``: its readable name first,
    then its :data:`LVIS_SYNONYMS`."""
    out = [readable_name(name)]
    for s in LVIS_SYNONYMS.get(name, ()):
        if s not in out:
            out.append(s)
    return tuple(out)
