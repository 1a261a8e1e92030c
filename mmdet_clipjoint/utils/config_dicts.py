# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Walking a nested mmengine config (dicts inside lists inside dicts)."""
from typing import Any, Iterator

__all__ = ['iter_config_dicts']


def iter_config_dicts(node: Any) -> Iterator[dict]:
    """Every dict in a nested config (``node`` itself first, depth first).

    Args:
        node: A config, a config section (``cfg.model``) or any nesting of
            dicts, lists and tuples.

    Yields:
        dict: Each dict (``ConfigDict`` included), parents before children.
    """
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from iter_config_dicts(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from iter_config_dicts(v)
