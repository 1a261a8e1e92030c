# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""What the command lines under ``tools/`` and ``demo/`` share: a parser
whose help is the script's docstring, and a clean exit on bad input."""
import argparse
import sys
from typing import Callable, Optional

__all__ = [
    'doc_parser', 'add_cfg_options', 'add_run_options', 'setup_runs',
    'print_report', 'run_main', 'positive_int'
]


def doc_parser(doc: str) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` described by a script's docstring: its first
    line as the description, the rest (examples) as the epilog."""
    parts = doc.split('\n', 2)
    return argparse.ArgumentParser(
        description=parts[0],
        epilog=parts[2] if len(parts) > 2 else None,
        formatter_class=argparse.RawDescriptionHelpFormatter)


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer >= 1 (``--iters 0`` is refused at
    parsing, before any work, instead of being read as "not given" or
    failing deep inside a run).

    Raises:
        argparse.ArgumentTypeError: not an integer, or < 1.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not an integer') from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'must be at least 1, got {value}')
    return value


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """mmdet's ``--cfg-options key=value ...`` (merged into the config)."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--threads`` and ``--verbose`` of the scripts that train runs."""
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch intra-op threads (default: min(2, cores)); for two '
        'workers on one --out (they share the runs through lock files), '
        'give each half the cores')
    parser.add_argument(
        '--verbose', action='store_true',
        help='each run\'s logs on the console (default: in its '
        'work_dir/console.log, with progress bars instead)')


def setup_runs(threads: Optional[int] = None) -> None:
    """Before a script trains: the package's and mmdet's modules
    registered, torch's intra-op threads set (``threads``, default
    ``min(2, cores)``)."""
    import os

    import torch
    from mmdet.utils import register_all_modules

    import mmdet_clipjoint  # noqa: F401
    register_all_modules()
    torch.set_num_threads(threads or min(2, os.cpu_count() or 1))


def print_report(md: str, path: str) -> None:
    """Write a benchmark's markdown report to ``path`` and print it, with
    where it went."""
    with open(path, 'w') as f:
        f.write(md)
    print('\n' + md + f'\nreport: {path}')


def run_main(main: Callable, prog: str) -> None:
    """Call ``main()``; bad input (``ValueError`` / ``FileNotFoundError``,
    whose messages say what is wrong and what to do) exits with
    ``<prog>: error: <message>`` instead of a traceback."""
    try:
        main()
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f'{prog}: error: {e}')

