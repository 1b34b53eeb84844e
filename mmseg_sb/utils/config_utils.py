# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Walking the nested dicts and lists of a config, defined once."""
from typing import Any, Iterator


def iter_dicts(cfg: Any) -> Iterator[dict]:
    """Every dict inside ``cfg`` (itself included), depth first, through
    dicts, lists and tuples; the dicts are the config's own, so a caller
    may change them in place."""
    if isinstance(cfg, dict):
        yield cfg
        for value in cfg.values():
            yield from iter_dicts(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            yield from iter_dicts(value)
