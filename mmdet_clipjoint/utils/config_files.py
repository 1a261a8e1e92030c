# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The project's configs as package data: finding and loading them.

The configs live in the repository's ``configs/`` folder and ship with the
package under ``mmdet_clipjoint/.mim/configs`` -- mmdet's own layout
(``mmdet/.mim/configs``). In a checkout (and its editable install) that
folder is a symbolic link to ``configs/``; a built wheel holds a copy
(``[tool.setuptools.package-data]`` in ``pyproject.toml``). The benchmarks
find their configs here, so they run from an installed package, not only
from a source checkout.
"""
import os.path as osp

from mmengine.config import Config

__all__ = ['PACKAGE_CONFIGS', 'SCOPE', 'config_file', 'load_config']

#: the configs shipped with the package (``configs/`` of the repository)
PACKAGE_CONFIGS = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'configs')
#: prefix of a config of this package, as ``mmdet::`` is mmdet's
SCOPE = 'mmdet_clipjoint::'
#: how the project names its configs relative to the repository root
_REPO_PREFIX = 'configs/'


def config_file(path: str) -> str:
    """The file of a config of this package.

    Args:
        path (str): ``configs/<folder>/<name>.py`` (as the repository and
            the benchmarks' tables name it), ``mmdet_clipjoint::<folder>/
            <name>.py``, or the path of any other config file (returned
            as it is).

    Returns:
        str: The config's file under :data:`PACKAGE_CONFIGS`, or ``path``.

    Raises:
        FileNotFoundError: A package config that is not shipped.
    """
    if path.startswith(SCOPE):
        rel = path[len(SCOPE):]
    elif path.replace('\\', '/').startswith(_REPO_PREFIX) \
            and not osp.isabs(path):
        rel = path[len(_REPO_PREFIX):]
    else:
        return path
    file = osp.join(PACKAGE_CONFIGS, rel)
    if not osp.isfile(file):
        raise FileNotFoundError(
            f'{path!r} is not among the configs shipped with mmdet_clipjoint '
            f'({PACKAGE_CONFIGS}).')
    return file


def load_config(path: str) -> Config:
    """Load a config: this package's (see :func:`config_file`), another
    installed OpenMMLab package's (``mmdet::...``) or any file."""
    if '::' in path and not path.startswith(SCOPE):
        from mmengine.hub import get_config
        return get_config(path)
    return Config.fromfile(config_file(path))
