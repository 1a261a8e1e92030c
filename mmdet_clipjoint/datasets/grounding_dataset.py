# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Grounding data (phrases linked to boxes) in mmdet 3.3's ODVG format, for
hybrid detection / grounding / caption training (DetCLIPv2; issue 26).

File format: ODVG, the JSON-lines file of mmdet's own
:class:`~mmdet.datasets.ODVGDataset` (MM-Grounding-DINO), one image per
line::

    {"filename": "000000.jpg", "height": 160, "width": 160,
     "grounding": {"caption": "a dog next to an automobile",
                   "regions": [{"bbox": [x1, y1, x2, y2], "phrase": "dog",
                                "tokens_positive": [[2, 5]]}, ...]}}

``bbox`` is one box or a list of boxes (absolute pixels, ``x1 y1 x2 y2``);
``tokens_positive`` (optional) are the phrase's ``[start, end)`` character
spans in the caption. Detection-style lines (ODVG's ``"detection":
{"instances": [{"bbox", "label", "category"}]}``, ``label`` a class index)
are read as grounding lines whose phrases are the category names (GLIP's
"detection as grounding"), so one file gives one kind of sample.

What a sample carries (a data info; after ``PackDetInputs`` with
``meta_keys`` extended by ``('gt_caption', 'phrases', 'phrase_labels')``,
the same keys in ``data_sample.metainfo``):

* ``phrases`` (list[str], P): the distinct phrases of the line, in order of
  first mention;
* ``instances``: one per box, ``bbox_label`` = the index of its phrase in
  ``phrases`` -- mmdet's ODVG convention (its ``bbox_label`` is the region
  index), so the phrase of every box survives every box transform
  (resize, flip, crop, filtering) of a stock pipeline;
* ``phrase_labels`` (list[int], P): the detector's class of each phrase, or
  -1. A phrase names a class when, normalised (lower case, words singular,
  LVIS qualifiers and a leading article dropped), it equals the class name
  or one of its aliases (``class_aliases``; default: the shipped LVIS
  synonyms, :data:`~mmdet_clipjoint.datasets.synonyms.LVIS_SYNONYMS`).
  The model turns ``bbox_label`` into ``phrase_labels[bbox_label]`` for
  its box losses; boxes of phrases without a class become *ignored*
  instances (not targets, and not background where the assigner honours
  ignore regions): they are objects, possibly of a class the detector was
  never given, and their phrase still trains the word-region loss. Phrase
  matching against the vocabulary, rather than ODVG's per-caption labels,
  is what lets grounding images train the same box classifier as the
  detection set.
* ``gt_caption``, ``tokens_positive`` (per phrase, its spans), and
  ``height`` / ``width`` (from the line; the aspect-ratio batch samplers
  need them).

Errors: malformed lines raise a ``ValueError`` that names the file, the
line and the problem (a missing key, a box that is not 4 numbers, an empty
box, a box outside the image by more than ``box_tolerance`` pixels -- boxes
within it are clipped --, a span outside the caption, a class index outside
the vocabulary), instead of mmdet's silent skipping of degenerate boxes.

Mixing: a third dataset in the hybrid loaders (``ConcatDataset`` +
``MultiDataSampler`` + ``MultiDataAspectRatioBatchSampler`` with
``num_datasets=3``), with the same ``metainfo`` as the others (see
:mod:`~mmdet_clipjoint.datasets.caption_dataset`).
"""
import json
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from mmengine.fileio import get_file_backend, get_text

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from .caption_dataset import _tokens
from .synonyms import LVIS_SYNONYMS, readable_name

__all__ = ['GroundingPhraseDataset', 'phrase_class_index', 'match_phrase']

_ARTICLES = ('a', 'an', 'the')


def _phrase_key(phrase: str) -> str:
    """Normalised phrase: words of :func:`readable_name`, singular, lower
    case, without a leading article."""
    words = _tokens(readable_name(phrase))
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return ' '.join(words)


def phrase_class_index(
        classes: Sequence[str],
        class_aliases: Union[str, Mapping[str, Sequence[str]], None] = 'lvis'
) -> Dict[str, int]:
    """Normalised phrase -> class index, for :func:`match_phrase`.

    Class names win over aliases; an alias of two classes names neither.

    Args:
        classes (Sequence[str]): The detector's C class names.
        class_aliases (str | dict | None): ``'lvis'`` (the shipped
            :data:`LVIS_SYNONYMS`), a ``{class name: [alias, ...]}`` dict,
            or None (class names only).

    Returns:
        dict[str, int]: normalised phrase -> index in ``classes``.
    """
    if class_aliases == 'lvis':
        aliases: Mapping[str, Sequence[str]] = LVIS_SYNONYMS
    elif class_aliases is None:
        aliases = {}
    elif isinstance(class_aliases, Mapping):
        aliases = class_aliases
    else:
        raise ValueError(f"class_aliases={class_aliases!r}: use 'lvis', a "
                         '{class: [aliases]} dict or None.')
    index = {_phrase_key(c): k for k, c in enumerate(classes)}
    by_alias: Dict[str, set] = {}
    for k, c in enumerate(classes):
        for a in aliases.get(c, ()):
            by_alias.setdefault(_phrase_key(a), set()).add(k)
    for key, ks in by_alias.items():
        if key not in index and len(ks) == 1:
            index[key] = next(iter(ks))
    return index


def match_phrase(phrase: str, index: Mapping[str, int]) -> int:
    """The class a phrase names (:func:`phrase_class_index`), or -1.

    Example:
        >>> match_phrase('an Automobile', phrase_class_index(['car']))
        0
    """
    return index.get(_phrase_key(phrase), -1)


class _RecordError(ValueError):
    """A malformed line (the dataset adds the file and line)."""


def _number_box(box, what: str) -> List[float]:
    if not isinstance(box, (list, tuple)) or len(box) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v) for v in box):
        raise _RecordError(f'{what}: a box is [x1, y1, x2, y2] (4 finite '
                           f'numbers, pixels), got {box!r}')
    return [float(v) for v in box]


def _check_box(box: List[float], w: int, h: int, tol: float,
               what: str) -> List[float]:
    x1, y1, x2, y2 = box
    if not (x2 > x1 and y2 > y1):
        raise _RecordError(f'{what}: box {box} is empty (x2 <= x1 or '
                           'y2 <= y1; the format is x1, y1, x2, y2)')
    if x1 < -tol or y1 < -tol or x2 > w + tol or y2 > h + tol:
        raise _RecordError(f'{what}: box {box} lies outside the {w}x{h} '
                           f'image (by more than {tol} px)')
    return [max(x1, 0.), max(y1, 0.), min(x2, float(w)), min(y2, float(h))]


def _check_spans(spans, caption: str, what: str) -> List[List[int]]:
    if spans is None:
        return []
    if not isinstance(spans, (list, tuple)):
        raise _RecordError(f'{what}: tokens_positive is a list of [start, '
                           f'end] character spans, got {spans!r}')
    out = []
    for span in spans:
        if not (isinstance(span, (list, tuple)) and len(span) == 2
                and all(isinstance(v, int) for v in span)
                and 0 <= span[0] < span[1] <= len(caption)):
            raise _RecordError(
                f'{what}: span {span!r} of tokens_positive is not inside '
                f'the caption ({len(caption)} characters, [start, end) '
                'with 0 <= start < end <= length)')
        out.append([int(span[0]), int(span[1])])
    return out


@DATASETS.register_module()
class GroundingPhraseDataset(BaseDetDataset):
    """ODVG grounding lines as boxes with phrases (see the module
    docstring for the format and what a sample carries).

    ``filter_cfg``: ``filter_empty_gt`` (drop lines without a box) and
    ``min_size`` (drop images whose short side is smaller).

    Args:
        class_aliases (str | dict | None): Other names of the classes when
            matching phrases to classes (:func:`phrase_class_index`).
            Defaults to ``'lvis'``.
        box_tolerance (float): Pixels a box may overshoot the image (it is
            clipped); more is an error. Defaults to 1.
        **kwargs: :class:`~mmdet.datasets.BaseDetDataset` arguments
            (``ann_file``, ``data_root``, ``data_prefix=dict(img=...)``,
            ``metainfo`` with the detector's ``classes``, ``pipeline``,
            ...).
    """

    METAINFO = dict(classes=(), palette=[])

    def __init__(self,
                 *args,
                 class_aliases: Union[str, Mapping[str, Sequence[str]],
                                      None] = 'lvis',
                 box_tolerance: float = 1.0,
                 **kwargs) -> None:
        self.class_aliases = class_aliases
        self.box_tolerance = float(box_tolerance)
        kwargs.setdefault('data_prefix', dict(img=''))
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the ODVG lines.

        Returns:
            list[dict]: One data info per line.

        Raises:
            ValueError: a malformed line (file, line number and problem).
        """
        classes = tuple(self.metainfo.get('classes') or ())
        index = phrase_class_index(classes, self.class_aliases)
        img_prefix = self.data_prefix.get('img',
                                          self.data_prefix.get('img_path', ''))
        backend = get_file_backend(img_prefix, backend_args=self.backend_args)
        text = get_text(self.ann_file, backend_args=self.backend_args)
        data_list = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                info = self.parse_record(record, classes, index)
            except (_RecordError, json.JSONDecodeError) as e:
                raise ValueError(f'{self.ann_file}, line {n}: {e}') from None
            info['img_id'] = len(data_list)
            info['img_path'] = backend.join_path(img_prefix,
                                                 info.pop('filename'))
            data_list.append(info)
        return data_list

    def parse_record(self, record: dict, classes: Tuple[str, ...],
                     index: Mapping[str, int]) -> dict:
        """One ODVG line -> a data info without ``img_path`` / ``img_id``
        (``filename`` instead).

        Args:
            record (dict): The decoded line.
            classes (tuple[str]): The C class names.
            index (dict): :func:`phrase_class_index` of them.

        Returns:
            dict: ``filename``, ``height``, ``width``, ``gt_caption``,
            ``phrases`` (P), ``phrase_labels`` (P), ``tokens_positive``
            (P lists of spans) and ``instances`` (``bbox`` (4,),
            ``bbox_label`` = phrase index, ``ignore_flag=0``).
        """
        if not isinstance(record, dict):
            raise _RecordError(f'a line is a JSON object, got {record!r}')
        for key in ('filename', 'height', 'width'):
            if key not in record:
                raise _RecordError(f'missing "{key}"')
        w, h = record['width'], record['height']
        if not (isinstance(w, int) and isinstance(h, int) and w > 0
                and h > 0):
            raise _RecordError(f'width / height must be positive integers, '
                               f'got {w!r} / {h!r}')
        if 'grounding' in record:
            caption, regions = self._grounding_regions(record['grounding'])
        elif 'detection' in record:
            caption, regions = self._detection_regions(record['detection'],
                                                       classes)
        else:
            raise _RecordError('neither "grounding" nor "detection": not an '
                               'ODVG line')
        phrases: List[str] = []
        spans: List[List[List[int]]] = []
        instances = []
        for r, region in enumerate(regions):
            what = f'region {r}'
            if not isinstance(region, dict) or 'bbox' not in region or \
                    'phrase' not in region:
                raise _RecordError(f'{what} needs "bbox" and "phrase", got '
                                   f'{region!r}')
            phrase = region['phrase']
            if not isinstance(phrase, str) or not phrase.strip():
                raise _RecordError(f'{what}: "phrase" must be a non-empty '
                                   f'string, got {phrase!r}')
            boxes = region['bbox']
            if isinstance(boxes, (list, tuple)) and boxes and isinstance(
                    boxes[0], (list, tuple)):
                boxes = list(boxes)
            else:
                boxes = [boxes]
            if phrase not in phrases:
                phrases.append(phrase)
                spans.append([])
            p = phrases.index(phrase)
            for s in _check_spans(region.get('tokens_positive'), caption,
                                  what):
                if s not in spans[p]:
                    spans[p].append(s)
            for box in boxes:
                box = _check_box(_number_box(box, what), w, h,
                                 self.box_tolerance, what)
                instances.append(dict(bbox=box, bbox_label=p, ignore_flag=0))
        return dict(
            filename=str(record['filename']), height=h, width=w,
            gt_caption=caption, phrases=phrases,
            phrase_labels=[match_phrase(p, index) for p in phrases],
            tokens_positive=spans, instances=instances)

    @staticmethod
    def _grounding_regions(anno) -> Tuple[str, list]:
        if not isinstance(anno, dict) or not isinstance(
                anno.get('caption'), str) or not isinstance(
                    anno.get('regions'), list):
            raise _RecordError('"grounding" needs "caption" (a string) and '
                               f'"regions" (a list), got {anno!r}')
        return anno['caption'], anno['regions']

    @staticmethod
    def _detection_regions(anno, classes: Tuple[str, ...]
                           ) -> Tuple[str, list]:
        if not isinstance(anno, dict) or not isinstance(
                anno.get('instances'), list):
            raise _RecordError('"detection" needs "instances" (a list), got '
                               f'{anno!r}')
        regions, names = [], []
        for i, obj in enumerate(anno['instances']):
            if not isinstance(obj, dict) or 'bbox' not in obj or \
                    'label' not in obj:
                raise _RecordError(f'instance {i} needs "bbox" and "label", '
                                   f'got {obj!r}')
            label = obj['label']
            if not isinstance(label, int) or not 0 <= label < len(classes):
                raise _RecordError(
                    f'instance {i}: label {label!r} is not a class index of '
                    f'the {len(classes)} classes (metainfo["classes"])')
            name = readable_name(classes[label])
            category = obj.get('category')
            if category is not None and _phrase_key(str(category)) not in (
                    _phrase_key(name), _phrase_key(classes[label])):
                raise _RecordError(
                    f'instance {i}: category {category!r} is not class '
                    f'{label} ({classes[label]!r}) of metainfo["classes"]')
            if name not in names:
                names.append(name)
            regions.append(dict(bbox=obj['bbox'], phrase=name))
        caption = '. '.join(names) + '.' if names else ''
        for r in regions:
            start = caption.index(r['phrase'] + '.')
            r['tokens_positive'] = [[start, start + len(r['phrase'])]]
        return caption, regions

    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg`` (``filter_empty_gt``, ``min_size``).

        Returns:
            list[dict]: The kept data infos.
        """
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        empty = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        return [
            info for info in self.data_list
            if (info['instances'] or not empty)
            and min(info['width'], info['height']) >= min_size
        ]
