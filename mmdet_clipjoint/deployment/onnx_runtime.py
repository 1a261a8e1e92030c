# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Run an exported detector (:func:`~.onnx_export.export_onnx`) with
onnxruntime on CPU and return mmdet ``DetDataSample``s.

Everything around the graph is here, driven by the metadata the export
stored (no config needed):

* **pre-process** (what the config's test pipeline and data preprocessor
  do): resize keeping the aspect ratio so that the image fits the exported
  (H, W) -- for a square size exactly mmdet's ``Resize(keep_ratio=True)``,
  same rounding and bilinear interpolation --, BGR -> RGB when the
  preprocessor converts, ``(x - mean) / std``, pad bottom / right to (H, W)
  with the pipeline's ``Pad`` value;
* **post-process** (what the head's ``predict_by_feat`` does after the
  graph's outputs): clip to ``img_shape`` (RTMDet / YOLO11), score
  threshold and top-k per level (``nms_pre``; RTMDet / YOLO11 keep every
  (location, class) pair, YOLOX the best class of a location), rescale to
  the original image, ``min_bbox_size``, class-aware NMS (mmcv's
  ``batched_nms``, the head's ``test_cfg.nms``) and ``max_per_img``.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from .onnx_export import INPUT_NAME, META_KEY, OUTPUT_NAMES

__all__ = ['ONNXDetector', 'read_onnx_meta', 'preprocess_image',
           'random_inputs', 'compare_with_pytorch', 'check_onnx_file']

_INSTALL_HINT = ('running an exported model needs onnxruntime: '
                 'pip install "mmdet_clipjoint[deploy]" (onnx + onnxruntime).')

ImageType = Union[str, np.ndarray]


def _import_ort():
    try:
        import onnxruntime
    except ImportError as e:  # pragma: no cover - depends on the env
        raise ImportError(_INSTALL_HINT) from e
    return onnxruntime


def check_onnx_file(path: str) -> None:
    """Raise a clear error for a file that is not an ONNX model.

    A PyTorch checkpoint (a ``.pth``: a zip archive or a pickle) is named
    as such, with the export command (other files are left to
    onnxruntime, whose refusal :class:`ONNXDetector` words as an error
    naming the file).

    Raises:
        FileNotFoundError: No such file.
        ValueError: A PyTorch checkpoint.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX model {path} does not exist.')
    with open(path, 'rb') as f:
        head = f.read(4)
    is_ckpt = head[:1] == b'\x80'  # a pickle (torch.save before 1.6)
    if head == b'PK\x03\x04':  # torch.save's zip holds <name>/data.pkl
        import zipfile
        try:
            with zipfile.ZipFile(path) as z:
                is_ckpt = any(n.endswith('data.pkl') for n in z.namelist())
        except zipfile.BadZipFile:
            pass
    if is_ckpt:
        raise ValueError(
            f'{path!r} is a PyTorch checkpoint (torch.save\'s zip / pickle '
            'format), not an ONNX model. Export it first: python '
            'tools/deployment/export_onnx.py CONFIG '
            f'{path} --out model.onnx, then run model.onnx.')


def read_onnx_meta(custom_metadata: Dict[str, str], path: str = '') -> dict:
    """Parse the :data:`META_KEY` entry of a model's custom metadata.

    Args:
        custom_metadata (dict[str, str]): ``session.get_modelmeta()
            .custom_metadata_map`` (or the ``metadata_props`` as a dict).
        path (str): The file, for the error message.

    Returns:
        dict: The metadata written by :func:`export_meta`.
    """
    if META_KEY not in custom_metadata:
        raise ValueError(
            f'{path or "the ONNX model"} has no {META_KEY!r} metadata (the '
            'input size, normalisation and test_cfg): export it with '
            'tools/deployment/export_onnx.py / export_onnx().')
    return json.loads(custom_metadata[META_KEY])


def preprocess_image(img: ImageType, meta: dict) -> Tuple[np.ndarray, dict]:
    """One image as the exported graph's input.

    Args:
        img (str | np.ndarray): A file, or an (h, w, 3) uint8 array in BGR
            order (as ``mmcv.imread`` / mmdet load it).
        meta (dict): The export metadata.

    Returns:
        tuple: the normalised, padded input (3, H, W) float32 and the
        image's meta (``ori_shape``, ``img_shape`` (the padded size when
        the config's pipeline pads, as mmdet's ``Pad`` reports it),
        ``pad_shape``, ``scale_factor`` (w, h), ``img_path``).
    """
    import mmcv
    path = None
    if isinstance(img, str):
        if not osp.isfile(img):
            raise FileNotFoundError(f'image {img} does not exist.')
        path, img = img, mmcv.imread(img, channel_order='bgr')
        if img is None:
            raise ValueError(
                f'{path!r} ({osp.getsize(path)} bytes) is not an image that '
                'OpenCV can read: give a JPEG, PNG, BMP, PPM/PGM, TIFF or '
                'WebP file.')
    if not isinstance(img, np.ndarray) or img.ndim != 3 or \
            img.shape[2] != 3:
        raise ValueError(
            'an image must be a file or an (h, w, 3) BGR array; got '
            f'{type(img).__name__} of shape {getattr(img, "shape", None)}.')
    H, W = meta['input_shape']
    h, w = img.shape[:2]
    if meta.get('keep_ratio', True):
        # mmcv.imrescale's rounding; for H == W its scale rule too
        scale = min(H / h, W / w)
        new_w, new_h = int(w * scale + 0.5), int(h * scale + 0.5)
    else:
        new_w, new_h = W, H
    if (new_w, new_h) != (w, h):
        img = mmcv.imresize(img, (new_w, new_h), interpolation='bilinear',
                            backend='cv2')
    x = img.astype(np.float32)
    if meta['bgr_to_rgb']:
        x = x[..., ::-1]
    x = (x - np.asarray(meta['mean'], np.float32)) / np.asarray(
        meta['std'], np.float32)
    out = np.empty((H, W, 3), np.float32)
    out[...] = np.asarray(meta['pad_value'], np.float32)
    out[:new_h, :new_w] = x
    # as mmdet reports it: its Pad transform sets img_shape to the padded
    # size, and the head clips boxes to img_shape
    img_shape = (H, W) if meta.get('img_shape_is_padded') else (new_h, new_w)
    info = dict(ori_shape=(h, w), img_shape=img_shape,
                pad_shape=(H, W), batch_input_shape=(H, W),
                scale_factor=(new_w / w, new_h / h))
    if path is not None:
        info['img_path'] = path
    return np.ascontiguousarray(out.transpose(2, 0, 1)), info


def random_inputs(meta: dict, batch: int = 1, seed: int = 0) -> np.ndarray:
    """Random uint8 images of the exported size, normalised as real ones,
    shape (batch, 3, H, W) float32 (for parity checks)."""
    rng = np.random.default_rng(seed)
    H, W = meta['input_shape']
    imgs = rng.integers(0, 256, (batch, H, W, 3), dtype=np.uint8)
    return np.stack([preprocess_image(i, meta)[0] for i in imgs])


class ONNXDetector:
    """An exported one-stage detector, run by onnxruntime on CPU.

    Args:
        path (str): The ``.onnx`` file written by :func:`export_onnx`.
        score_thr (float, optional): Score threshold (default: the
            exported head's ``test_cfg.score_thr``).
        nms_iou (float, optional): NMS IoU threshold (default: its
            ``test_cfg.nms.iou_threshold``).
        max_per_img (int, optional): Detections kept per image (default:
            ``test_cfg.max_per_img``).
        nms_pre (int, optional): Candidates kept per level before NMS
            (default: ``test_cfg.nms_pre``; <= 0: all).
        num_threads (int, optional): onnxruntime intra-op threads.

    Example:
        >>> det = ONNXDetector('rtmdet_fuse.onnx', score_thr=0.3)
        >>> sample = det('demo.jpg')  # DetDataSample
        >>> sample.pred_instances.bboxes  # (n, 4) xyxy, original pixels
    """

    def __init__(self,
                 path: str,
                 score_thr: Optional[float] = None,
                 nms_iou: Optional[float] = None,
                 max_per_img: Optional[int] = None,
                 nms_pre: Optional[int] = None,
                 num_threads: Optional[int] = None) -> None:
        ort = _import_ort()
        opts = ort.SessionOptions()
        if num_threads is not None:
            opts.intra_op_num_threads = int(num_threads)
        check_onnx_file(path)
        try:
            self.session = ort.InferenceSession(
                path, sess_options=opts, providers=['CPUExecutionProvider'])
        except Exception as e:  # onnxruntime's InvalidProtobuf / Fail
            raise ValueError(
                f'onnxruntime cannot load {path!r} as an ONNX model '
                f'({type(e).__name__}: {str(e).strip()[:300]}). Give a '
                'file written by tools/deployment/export_onnx.py.') from None
        self.meta = read_onnx_meta(
            self.session.get_modelmeta().custom_metadata_map, path)
        cfg = self.meta['test_cfg']
        self.score_thr = cfg['score_thr'] if score_thr is None \
            else float(score_thr)
        self.nms_cfg = dict(cfg['nms'])
        if nms_iou is not None:
            self.nms_cfg['iou_threshold'] = float(nms_iou)
        self.max_per_img = cfg['max_per_img'] if max_per_img is None \
            else int(max_per_img)
        self.nms_pre = cfg['nms_pre'] if nms_pre is None else int(nms_pre)
        self.min_bbox_size = cfg.get('min_bbox_size', -1)
        batch = self.session.get_inputs()[0].shape[0]
        #: the fixed batch size of the graph, None when dynamic
        self.batch_size = batch if isinstance(batch, int) else None

    @property
    def classes(self) -> Optional[List[str]]:
        """Class names stored at export (None when unknown)."""
        return self.meta.get('classes')

    def run(self, inputs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Run the graph on a normalised batch.

        Args:
            inputs (np.ndarray): (B, 3, H, W) float32; B must be the
                exported batch size unless the batch is dynamic.

        Returns:
            tuple[np.ndarray]: ``boxes`` (B, N, 4) and ``scores`` (B, N, C).
        """
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        H, W = self.meta['input_shape']
        if inputs.ndim != 4 or tuple(inputs.shape[1:]) != (3, H, W):
            raise ValueError(
                f'inputs of shape {tuple(inputs.shape)} do not match the '
                f'exported input (B, 3, {H}, {W}); re-export with --shape '
                'for another size.')
        if self.batch_size is not None and len(inputs) != self.batch_size:
            outs = [self.run(inputs[i:i + self.batch_size])
                    for i in range(0, len(inputs), self.batch_size)]
            return (np.concatenate([o[0] for o in outs]),
                    np.concatenate([o[1] for o in outs]))
        boxes, scores = self.session.run(list(OUTPUT_NAMES),
                                         {INPUT_NAME: inputs})
        return boxes, scores

    def postprocess(self, boxes: Union[np.ndarray, Tensor],
                    scores: Union[np.ndarray, Tensor],
                    img_metas: Sequence[dict]) -> list:
        """Threshold, top-k, rescale and NMS (the head's post-process).

        Args:
            boxes: (B, N, 4) graph boxes (input pixels).
            scores: (B, N, C) graph scores.
            img_metas (Sequence[dict]): per image, as returned by
                :func:`preprocess_image`.

        Returns:
            list[:obj:`DetDataSample`]: ``pred_instances`` with ``bboxes``
            (n, 4) xyxy in original-image pixels, ``scores`` (n,),
            ``labels`` (n,), best first.
        """
        from mmdet.structures import DetDataSample
        boxes = torch.as_tensor(boxes, dtype=torch.float32)
        scores = torch.as_tensor(scores, dtype=torch.float32)
        out = []
        for b, img_meta in enumerate(img_metas):
            sample = DetDataSample(metainfo=dict(img_meta))
            sample.pred_instances = self._postprocess_single(
                boxes[b], scores[b], img_meta)
            out.append(sample)
        return out

    def _postprocess_single(self, boxes: Tensor, scores: Tensor,
                            img_meta: dict):
        from mmcv.ops import batched_nms
        from mmengine.structures import InstanceData

        from mmdet.models.utils import filter_scores_and_topk
        from mmdet.structures.bbox import scale_boxes
        if self.meta['clip_border']:
            h, w = img_meta['img_shape']
            boxes = torch.stack([
                boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h),
                boxes[:, 2].clamp(0, w), boxes[:, 3].clamp(0, h)
            ], 1)
        nms_pre = self.nms_pre if self.nms_pre > 0 else scores.numel()
        if self.meta['multi_label']:
            keep_scores, keep_labels, keep_boxes = [], [], []
            for lvl_boxes, lvl_scores in zip(
                    boxes.split(self.meta['level_sizes']),
                    scores.split(self.meta['level_sizes'])):
                s, labels, _, kept = filter_scores_and_topk(
                    lvl_scores, self.score_thr, nms_pre,
                    dict(bboxes=lvl_boxes))
                keep_scores.append(s)
                keep_labels.append(labels)
                keep_boxes.append(kept['bboxes'])
            res = InstanceData(bboxes=torch.cat(keep_boxes),
                               scores=torch.cat(keep_scores),
                               labels=torch.cat(keep_labels))
        else:  # YOLOX: the best class of each location
            best, labels = scores.max(1)
            valid = best >= self.score_thr
            res = InstanceData(bboxes=boxes[valid], scores=best[valid],
                               labels=labels[valid])
            if len(res) > nms_pre:
                res = res[res.scores.topk(nms_pre).indices]
        res.bboxes = scale_boxes(res.bboxes,
                                 [1 / s for s in img_meta['scale_factor']])
        if self.min_bbox_size >= 0:
            wh = res.bboxes[:, 2:] - res.bboxes[:, :2]
            valid = (wh > self.min_bbox_size).all(1)
            if not valid.all():
                res = res[valid]
        if res.bboxes.numel() > 0:
            dets, keep = batched_nms(res.bboxes, res.scores, res.labels,
                                     self.nms_cfg)
            res = res[keep]
            res.scores = dets[:, -1]
            res = res[:self.max_per_img]
        return res

    def __call__(self, imgs: Union[ImageType, Sequence[ImageType]]):
        """Detect objects in one image or a list of images.

        Args:
            imgs: A file or (h, w, 3) BGR uint8 array, or a list of them.

        Returns:
            :obj:`DetDataSample` (one image) or a list of them.
        """
        single = isinstance(imgs, (str, np.ndarray))
        batch = [imgs] if single else list(imgs)
        prepared = [preprocess_image(i, self.meta) for i in batch]
        inputs = np.stack([p[0] for p in prepared])
        boxes, scores = self.run(inputs)
        samples = self.postprocess(boxes, scores, [p[1] for p in prepared])
        return samples[0] if single else samples


def compare_with_pytorch(onnx_path: str, model: torch.nn.Module,
                         batch: int = 2, seed: int = 0) -> dict:
    """Run an exported file and its PyTorch model on the same random batch.

    The reference is :class:`~.onnx_export.ONNXExportWrapper` around
    ``model`` with the file's ``score_mode``: the detector's own decoded
    boxes and scores of every location, before thresholding and NMS.

    Args:
        onnx_path (str): The exported file.
        model (nn.Module): The detector it was exported from.
        batch (int): Images in the batch (1 when the export's batch is
            fixed).
        seed (int): Seed of the random images.

    Returns:
        dict: ``boxes`` (max absolute difference, pixels), ``scores`` (max
        absolute difference), ``batch`` and the output ``shapes``.
    """
    from .onnx_export import ONNXExportWrapper
    det = ONNXDetector(onnx_path)
    if det.batch_size is not None:
        batch = det.batch_size
    inputs = random_inputs(det.meta, batch, seed)
    boxes, scores = det.run(inputs)
    wrapper = ONNXExportWrapper(model, det.meta['score_mode']).eval()
    with torch.no_grad():
        ref_boxes, ref_scores = wrapper(torch.from_numpy(inputs))
    return dict(
        boxes=float(np.abs(boxes - ref_boxes.numpy()).max()),
        scores=float(np.abs(scores - ref_scores.numpy()).max()),
        batch=batch,
        shapes=dict(boxes=list(boxes.shape), scores=list(scores.shape)))
