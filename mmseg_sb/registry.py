# Copyright (c) mmseg_sb contributors. All rights reserved.
"""``mmseg_sb`` as an MMEngine scope, so that a config inherits this
project's configs as MMSeg's are inherited (``mmseg::``)::

    _base_ = 'mmseg_sb::configs/demo/sb_deeplabv3plus_r18_synthetic.py'

MMEngine 0.10 resolves ``<scope>::<path>`` only for the scopes in its
``MODULE2PACKAGE`` table, to ``<package dir>/.mim/configs/<path>``; setup.py
ships ``configs/`` there as ``configs/`` (MMEngine requires a folder in the
path, and the leaves keep their names). It tags every dict that such a
base file defines with ``_scope_='<scope>'``; building one imports
``<scope>.registry`` (this module) and builds from the registry of that
scope. Importing ``mmseg_sb``
therefore does both here: it adds ``mmseg_sb`` to the table and gives each of
MMSeg's registries a child of scope ``mmseg_sb``, which holds nothing of its
own and finds every type in MMSeg's registry or MMEngine's above it.

Components still register in MMSeg's registries (``mmseg.registry``), never
here. MMEngine reads ``_base_`` before ``custom_imports``, so the script that
loads such a config imports ``mmseg_sb`` first (``tools/train.py`` and
``tools/test.py`` do).
"""
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import Registry

import mmseg.registry

#: The scope of ``mmseg_sb::`` config paths and of the dicts they define.
SCOPE = 'mmseg_sb'

#: What a build in this scope imports first: the modules of MMSeg's
#: registries' own locations, and this package.
_LOCATIONS = [
    'mmseg.datasets', 'mmseg.engine', 'mmseg.evaluation', 'mmseg.models',
    'mmseg.visualization', SCOPE
]


def _scope_child(parent: Registry) -> Registry:
    """A registry of scope ``mmseg_sb`` under MMSeg's ``parent``."""
    return Registry(
        parent.name, parent=parent, scope=SCOPE, locations=_LOCATIONS)


#: The child of scope ``mmseg_sb`` of each of MMSeg's registries, by name.
SCOPE_REGISTRIES = {
    name: _scope_child(getattr(mmseg.registry, name))
    for name in mmseg.registry.__all__
}

# MMEngine maps a scope to a pip distribution and looks for
# ``<distribution location>/<name>/.mim``; for an editable install (PEP 660)
# that location is site-packages, not the clone. A name that is a module of
# this package but no distribution makes MMEngine ask importlib instead
# (``mmengine.utils.get_installed_path``), which finds the package directory
# of every kind of install.
MODULE2PACKAGE[SCOPE] = __name__
