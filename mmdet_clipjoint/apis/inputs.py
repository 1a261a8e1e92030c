# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Check the images given to the demos before any model is built.

:class:`mmdet.apis.DetInferencer` takes every file of a folder whose name
ends in one of :data:`IMG_EXTENSIONS` (case-sensitive) and silently does
nothing for a folder without any; a file OpenCV cannot decode ends in
mmcv's bare ``AssertionError: failed to load image``. :func:`check_image_input`
turns both into errors that name the folder or file.
"""
import os
import os.path as osp
import warnings
from typing import List, Optional

__all__ = [
    'IMG_EXTENSIONS', 'check_image_input', 'check_image_file',
    'build_inferencer'
]

#: what DetInferencer looks for in a folder (mmdet.apis.det_inferencer)
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')


def check_image_file(path: str, decode: bool = True) -> None:
    """Raise when ``path`` is not an image OpenCV (mmcv's reader) can
    decode.

    Args:
        path (str): The file.
        decode (bool): Decode it (else only its header is checked, where
            OpenCV >= 4.5 can; for the files of a folder).

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file is not a readable image; the message names it,
            its size and the formats that are read.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path!r} does not exist.')
    import cv2
    import mmcv
    readable = None
    if hasattr(cv2, 'haveImageReader'):  # OpenCV >= 4.5: header only
        readable = bool(cv2.haveImageReader(path))
    if readable is None or (readable and decode):
        try:
            readable = mmcv.imread(path) is not None
        except Exception:  # mmcv asserts, OpenCV may raise
            readable = False
    if not readable:
        raise ValueError(
            f'{path!r} ({osp.getsize(path)} bytes) is not an image that '
            'OpenCV can read: give a JPEG, PNG, BMP, PPM/PGM, TIFF or WebP '
            'file (or a folder of them).')


def check_image_input(path: str) -> List[str]:
    """Check a demo's image argument: a file, a folder or a URL.

    Args:
        path (str): An image file, a folder of images or a URL (URLs are
            left to the inferencer).

    Returns:
        list[str]: The image files (one for a file, the folder's images
        for a folder, ``[path]`` for a URL).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: A folder without images (the message names it and the
            extensions looked for), or a file that is not an image.
    """
    if '://' in path:
        return [path]
    if not osp.exists(path):
        raise FileNotFoundError(f'{path} does not exist.')
    if osp.isdir(path):
        # DetInferencer lists the folder itself, not its subfolders
        names = sorted(os.listdir(path))
        found = [osp.join(path, f) for f in names
                 if f.endswith(IMG_EXTENSIONS)
                 and osp.isfile(osp.join(path, f))]
        if not found:
            files = [f for f in names if osp.isfile(osp.join(path, f))]
            upper = [f for f in files if f.lower().endswith(IMG_EXTENSIONS)]
            subdirs = [f for f in names if osp.isdir(osp.join(path, f))]
            if upper:
                hint = (f'; {len(upper)} file(s) such as {upper[0]!r} have '
                        'an upper-case extension, which is not matched: '
                        'rename them')
            elif files or subdirs:
                hint = (f' ({len(files)} other file(s) and {len(subdirs)} '
                        'subfolder(s) in it; subfolders are not searched: '
                        'give a subfolder itself)')
            else:
                hint = ' (it is empty)'
            raise ValueError(
                f'no images in folder {path!r}: looked for files ending in '
                f'{", ".join(IMG_EXTENSIONS)}{hint}.')
        for f in found:
            check_image_file(f, decode=False)
        return found
    check_image_file(path)
    return [path]


def build_inferencer(config: str,
                     weights: Optional[str],
                     device: Optional[str] = None,
                     cfg_options: Optional[dict] = None,
                     **kwargs):
    """mmdet's ``DetInferencer`` of a config file, checked first.

    Args:
        config (str): Config file.
        weights (str, optional): Checkpoint; None warns that the detector
            is randomly initialised.
        device (str, optional): Device (default: mmdet's choice).
        cfg_options (dict, optional): ``--cfg-options`` merged into the
            config.
        **kwargs: More ``DetInferencer`` arguments (``palette``, ...).

    Returns:
        DetInferencer: The inferencer.

    Raises:
        FileNotFoundError: ``weights`` given but not a file.
    """
    from mmdet.apis import DetInferencer
    from mmengine.config import Config

    if weights is None:
        warnings.warn('No --weights given: the detector is randomly '
                      'initialised and its detections are meaningless.')
    elif not osp.isfile(weights):
        raise FileNotFoundError(f'checkpoint {weights} not found.')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return DetInferencer(model=cfg, weights=weights, device=device, **kwargs)
