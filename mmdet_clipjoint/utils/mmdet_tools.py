# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Run the ``train.py`` / ``test.py`` that ship with the installed mmdet with
mmdet_clipjoint loaded (``tools/train.py`` and ``tools/test.py`` are these
calls): every flag stays mmdet's.

Multi-process runs on machines without CUDA (e.g. ``torchrun
--nproc_per_node 2`` on CPU, for debugging) work too: mmengine 0.10 calls
``torch.cuda.set_device`` and gives DDP a CUDA device id unconditionally, so
when CUDA is unavailable :func:`run_mmdet_tool` skips the former, leaves
DDP's ``device_ids`` unset and switches an ``nccl`` backend to ``gloo``.

Another model's checkpoint (:mod:`.checkpoint_match`) and a missing COCO
annotation file (:mod:`.data_files`) end the run with ``test.py: error:
<message>`` instead of a traceback (``mim`` runs mmdet's scripts directly
and shows the same message under a traceback).
"""
import os.path as osp
import runpy
import sys
import warnings

__all__ = ['find_mmdet_tool', 'run_mmdet_tool']


def find_mmdet_tool(name: str) -> str:
    """Path of ``tools/<name>`` of the installed mmdet.

    Looks in ``mmdet/.mim/tools`` (pip / mim installs) and in the source
    tree next to the package (``pip install -e`` of an mmdetection clone).
    """
    import mmdet
    pkg = osp.dirname(osp.abspath(mmdet.__file__))
    candidates = [
        osp.join(pkg, '.mim', 'tools', name),
        osp.join(osp.dirname(pkg), 'tools', name),
    ]
    for path in candidates:
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'Cannot find mmdet\'s tools/{name} (looked in {candidates}). '
        'Install mmdet from the package index (`pip install mmdet` / '
        '`mim install mmdet`, which ship mmdet/.mim/tools) or from an '
        'mmdetection clone.')


def _launcher(argv) -> str:
    for i, a in enumerate(argv):
        if a == '--launcher' and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith('--launcher='):
            return a.split('=', 1)[1]
    return 'none'


def _cpu_distributed_shim() -> None:
    """Let mmengine 0.10's distributed set-up run without CUDA."""
    import torch
    from mmengine.runner import Runner

    # mmengine.dist.utils._init_dist_pytorch calls this unconditionally
    torch.cuda.set_device = lambda *args, **kwargs: None
    from_cfg = Runner.from_cfg.__func__

    def from_cfg_cpu(cls, cfg):
        dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        if dist_cfg.get('backend', 'nccl') == 'nccl':
            warnings.warn('CUDA is unavailable: using the gloo backend '
                          'instead of nccl for this multi-process run.')
            dist_cfg['backend'] = 'gloo'
        # Runner.wrap_model passes device_ids=[LOCAL_RANK] by default, which
        # DDP rejects for a CPU module; same defaults otherwise.
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper.setdefault('device_ids', None)
        cfg.model_wrapper_cfg = wrapper
        return from_cfg(cls, cfg)

    Runner.from_cfg = classmethod(from_cfg_cpu)


def run_mmdet_tool(name: str, argv=None) -> None:
    """Run mmdet's ``tools/<name>`` as ``__main__`` with ``argv``.

    Args:
        name: ``'train.py'`` or ``'test.py'``.
        argv: The tool's arguments (default: ``sys.argv[1:]``).
    """
    import mmdet_clipjoint  # noqa: F401  registers modules, safe globals

    argv = sys.argv[1:] if argv is None else list(argv)
    path = find_mmdet_tool(name)
    if _launcher(argv) != 'none':
        import torch
        if not torch.cuda.is_available():
            _cpu_distributed_shim()
    from ..datasets.checks import AnnotationError
    from .checkpoint_match import CheckpointMismatchError
    from .data_files import MissingDataFileError
    old_argv = sys.argv
    sys.argv = [path] + argv
    try:
        runpy.run_path(path, run_name='__main__')
    except (CheckpointMismatchError, MissingDataFileError,
            AnnotationError) as e:
        # the message says what is wrong and what to do: no traceback
        sys.exit(f'{name}: error: {e}')
    finally:
        sys.argv = old_argv
