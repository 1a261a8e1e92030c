# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Image-caption pairs with noun phrases, for hybrid detection / caption
training (DetCLIPv2-style; issue 15).

File format: the COCO-captions list that mmdet 3.3's own
:class:`~mmdet.datasets.CocoCaptionDataset` reads -- a JSON list of
``{"image": <file>, "caption": <text>}`` -- with optional extra keys per
entry: ``"phrases"`` (the caption's noun phrases, pre-extracted as DetCLIPv2
does) and ``"width"`` / ``"height"``. Chosen over mmdet's grounding format
(ODVG) because DetCLIPv2's image-text pairs carry no boxes, while ODVG's
grounding records require region boxes. mmdet's ``CocoCaptionDataset`` still
reads these files (it ignores the extra keys).

Hybrid training alternates whole batches of each kind with mmdet's stock
multi-dataset parts (the MM-Grounding-DINO / Detic recipe)::

    train_dataloader = dict(
        batch_size=[8, 8],   # ONE PER DATASET: passed on to the batch sampler
        sampler=dict(type='MultiDataSampler', dataset_ratio=[1, 1]),
        batch_sampler=dict(type='MultiDataAspectRatioBatchSampler',
                           num_datasets=2),
        dataset=dict(type='ConcatDataset',
                     datasets=[detection_dataset, caption_dataset]))

* mmengine's ``Runner.build_dataloader`` pops ``batch_size`` and hands it to
  the batch sampler; ``MultiDataAspectRatioBatchSampler`` indexes it by
  dataset (``batch_size[source]``), so it must be a list with one entry per
  dataset, and each batch holds indices of one dataset only.
  ``MultiDataSampler`` draws indices with replacement, each dataset with
  probability ``ratio / sum(ratios)`` whatever its size.
* The batch sampler reads ``width`` / ``height`` of every sample
  (``get_data_info``), so caption samples need them: taken from the file, or
  read from the image header at start-up (``read_image_size=True``).
* mmdet's ``ConcatDataset`` compares the datasets' ``metainfo``: when a key
  differs or is missing in one, its ``metainfo`` becomes a *list* of dicts
  (no error), which the runner then hands to the visualizer and the
  checkpoint meta. Give both datasets the same ``metainfo`` (``classes`` and
  ``palette``; the base config ``configs/_base_/datasets/
  synthetic_open_vocab.py`` does), or set ``ignore_keys=['palette']`` on the
  ``ConcatDataset`` when only the palettes differ. Put the detection dataset
  first: the concatenation reports the first dataset's ``metainfo``.

Samples carry ``instances=[]``. Through ``LoadAnnotations(with_bbox=True)``
and ``PackDetInputs`` their ``data_sample.gt_instances`` holds empty
``bboxes`` (``(0, 4)``) and ``labels`` (``(0,)``), the "empty ground truth"
case of mmdet's heads; mmdet's ``DetDataPreprocessor`` batches them like any
other sample. A model tells caption samples apart by
``'phrases' in data_sample.metainfo`` (``PackDetInputs`` with ``meta_keys``
extended by ``('gt_caption', 'phrases')`` copies the keys only when a sample
has them), and should not treat their unlabelled objects as background.
"""
import io
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.fileio import get, get_file_backend, load
from PIL import Image

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS

__all__ = ['CaptionPhraseDataset', 'extract_phrases']

_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def _singular(token: str) -> str:
    """A crude English singular: ``squares`` -> ``square``, ``crosses`` ->
    ``cross``, ``berries`` -> ``berry``; words of 3 letters or fewer and
    words in ``ss`` are kept."""
    if len(token) > 4 and token.endswith('ies'):
        return token[:-3] + 'y'
    if len(token) > 4 and token.endswith(('sses', 'shes', 'ches', 'xes')):
        return token[:-2]
    if len(token) > 3 and token.endswith('s') and not token.endswith('ss'):
        return token[:-1]
    return token


def _tokens(text: str) -> List[str]:
    return [_singular(t) for t in _WORD.findall(text.lower())]


def extract_phrases(caption: str, phrase_vocab: Sequence[str]) -> List[str]:
    """Rule-based noun-phrase chunker: the known phrases a caption mentions.

    The rule: lower-case the caption and split it into words (letters and
    digits; inner ``-`` / ``'`` kept), reduce every word to a crude singular
    (``squares`` -> ``square``; the vocabulary likewise), then scan left to
    right and at each word take the LONGEST vocabulary entry whose words
    start there (so "red square" wins over "square"), jumping past it; words
    that start no entry are skipped. Matching is on whole words, so "red"
    never matches inside "reddish".

    Args:
        caption: The caption text.
        phrase_vocab: Known phrases (e.g. the class names / concepts).

    Returns:
        list[str]: The matched entries, spelled as in ``phrase_vocab``, each
        once, in the order of their first mention.

    Example:
        >>> extract_phrases('Two red squares left of a striped blue circle',
        ...                 ['square', 'red square', 'blue circle'])
        ['red square', 'blue circle']
    """
    index: Dict[str, List[Tuple[Tuple[str, ...], str]]] = {}
    for phrase in phrase_vocab:
        words = tuple(_tokens(phrase))
        if words:
            index.setdefault(words[0], []).append((words, phrase))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[0]))
    words = _tokens(caption)
    found: List[str] = []
    i = 0
    while i < len(words):
        for entry, phrase in index.get(words[i], ()):
            if tuple(words[i:i + len(entry)]) == entry:
                if phrase not in found:
                    found.append(phrase)
                i += len(entry)
                break
        else:
            i += 1
    return found


@DATASETS.register_module()
class CaptionPhraseDataset(BaseDetDataset):
    """Image-caption pairs (no boxes) with their noun phrases.

    Reads the caption list format described in the module docstring (what
    :func:`~mmdet_clipjoint.datasets.make_synthetic_caption_dataset`
    writes). Each data info holds ``img_path``, ``img_id`` (the file stem's
    last ``_``-separated part, as mmdet's ``CocoCaptionDataset``),
    ``height`` / ``width`` (from the file or the image header),
    ``gt_caption``, ``phrases`` and ``instances=[]``.

    ``phrases`` come from the file; where an entry has none, from
    :func:`extract_phrases` over ``phrase_vocab`` (default: the
    ``metainfo`` classes).

    ``filter_cfg``: only ``min_size`` is applied (to images of known size);
    ``filter_empty_gt`` is ignored on purpose -- caption images never have
    boxes, and dropping them would empty the dataset.

    Args:
        phrase_vocab (Sequence[str], optional): Vocabulary of the rule-based
            chunker, for entries without ``"phrases"``. Defaults to
            ``metainfo['classes']``.
        read_image_size (bool): Read ``width`` / ``height`` from the image
            header at start-up for entries without them (the aspect-ratio
            batch samplers need them; costs one image read each). Defaults
            to True.
        **kwargs: :class:`~mmdet.datasets.BaseDetDataset` arguments
            (``ann_file``, ``data_root``, ``data_prefix=dict(img=...)``,
            ``metainfo``, ``pipeline``, ``backend_args``, ...).
    """

    METAINFO = dict(classes=(), palette=[])

    def __init__(self,
                 *args,
                 phrase_vocab: Optional[Sequence[str]] = None,
                 read_image_size: bool = True,
                 **kwargs) -> None:
        self.phrase_vocab = None if phrase_vocab is None else tuple(
            phrase_vocab)
        self.read_image_size = read_image_size
        kwargs.setdefault('data_prefix', dict(img=''))
        super().__init__(*args, **kwargs)

    def _image_size(self, img_path: str) -> Tuple[int, int]:
        with Image.open(io.BytesIO(get(img_path,
                                       backend_args=self.backend_args))) as im:
            return im.size

    def load_data_list(self) -> List[dict]:
        """Load the caption list.

        Returns:
            list[dict]: One data info per caption entry.
        """
        entries = load(self.ann_file, backend_args=self.backend_args)
        if not isinstance(entries, list):
            raise TypeError(
                f'{self.ann_file}: a caption file is a JSON list of '
                '{"image": <file>, "caption": <text>[, "phrases": [...]]} '
                f'entries, not a {type(entries).__name__}; a COCO instances '
                'file belongs to CocoDataset')
        img_prefix = self.data_prefix.get('img',
                                          self.data_prefix.get('img_path', ''))
        backend = get_file_backend(img_prefix, backend_args=self.backend_args)
        vocab = self.phrase_vocab
        if vocab is None:
            vocab = tuple(self.metainfo.get('classes') or ())
        data_list = []
        for k, entry in enumerate(entries):
            if not isinstance(entry, dict) or 'image' not in entry or \
                    'caption' not in entry:
                raise KeyError(
                    f'{self.ann_file}: entry {k} must be a dict with "image" '
                    f'and "caption" keys, got {entry!r}')
            phrases = entry.get('phrases')
            if phrases is None:
                if not vocab:
                    raise ValueError(
                        f'{self.ann_file}: entry {k} has no "phrases" and '
                        'the dataset has no vocabulary to extract them: '
                        'pass phrase_vocab=[...] or metainfo=dict('
                        'classes=[...])')
                phrases = extract_phrases(entry['caption'], vocab)
            info = dict(
                img_id=Path(entry['image']).stem.split('_')[-1],
                img_path=backend.join_path(img_prefix, entry['image']),
                gt_caption=entry['caption'],
                phrases=list(phrases),
                instances=[])
            if 'width' in entry and 'height' in entry:
                info['width'] = int(entry['width'])
                info['height'] = int(entry['height'])
            elif self.read_image_size:
                info['width'], info['height'] = self._image_size(
                    info['img_path'])
            data_list.append(info)
        return data_list

    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg['min_size']``; never drop an image for having
        no boxes.

        Returns:
            list[dict]: The kept data infos.
        """
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        min_size = self.filter_cfg.get('min_size', 0)
        return [
            info for info in self.data_list
            if min(info.get('width', min_size), info.get(
                'height', min_size)) >= min_size
        ]
