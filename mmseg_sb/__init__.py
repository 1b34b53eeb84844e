# Copyright (c) mmseg_sb contributors. All rights reserved.
"""mmseg_sb: semi-supervised semantic segmentation for MMSegmentation 1.x.

Importing the package registers its components in MMSeg's registries
(``custom_imports=dict(imports=['mmseg_sb'])`` in a config is enough),
makes MMEngine load local checkpoints safely with torch >= 2.6, and lets a
config inherit this package's configs as ``mmseg_sb::<path>``
(:mod:`mmseg_sb.registry`).
"""
from . import registry  # noqa: F401  (the scope of mmseg_sb:: configs)
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .evaluation import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .utils import register_checkpoint_loader
from .version import __version__, version_info

register_checkpoint_loader()


def registered_names() -> set:
    """Names of the components this package registers in MMSeg's
    registries (the ``type`` a config gives them)."""
    from . import datasets, engine, evaluation, models
    return {
        name
        for module in (datasets, engine, evaluation, models)
        for name in module.__all__ if isinstance(getattr(module, name), type)
    }


__all__ = ['__version__', 'version_info', 'registered_names']
