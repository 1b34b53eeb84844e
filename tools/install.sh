#!/usr/bin/env bash
# Install mmseg_sb and what it needs into the active Python environment.
#
# Idempotent: every step is skipped when what it provides already works, so a
# second run takes seconds. Usage: bash tools/install.sh [--test]
#   --test   also install the test and lint extras (pytest, flake8, isort, ...)
#
# On a CUDA machine, install torch and OpenMMLab's prebuilt mmcv first
# (`pip install -U openmim && mim install mmcv==2.1.0`); this script then keeps
# them and only adds the rest.
set -euo pipefail

PYTHON=${PYTHON:-python}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
MMCV_VERSION=2.1.0
MMENGINE_VERSION=0.10.7
MMSEG_VERSION=1.2.2
EXTRAS=""
[[ "${1:-}" == "--test" ]] && EXTRAS="[tests]"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
step() { echo "[mmseg_sb install] $*"; }
# Run checks outside the checkout, so that they see what is installed.
has() { (cd / && "$PYTHON" -c "$1") >/dev/null 2>&1; }

if has "import torch"; then
    step "torch $("$PYTHON" -c 'import torch; print(torch.__version__)') found, kept"
else
    step "installing torch==$TORCH_VERSION"
    "$PYTHON" -m pip install "torch==$TORCH_VERSION"
fi

# MMEngine 0.10.7 resolves `mmseg::` config references with pkg_resources,
# which setuptools >= 81 no longer ships (torch wants setuptools >= 77).
if has "import pkg_resources"; then
    step "pkg_resources found, kept"
else
    step "installing setuptools>=77,<81 (MMEngine needs pkg_resources)"
    "$PYTHON" -m pip install "setuptools>=77,<81"
fi

if has "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'"; then
    step "mmcv $MMCV_VERSION with compiled ops found, kept"
else
    # PyPI only has the mmcv 2.1.0 source. Its setup.py needs pkg_resources
    # (setuptools<70), which must not be forced on the user's environment, so
    # the wheel is built in a throwaway venv that sees the installed torch.
    step "building mmcv $MMCV_VERSION with compiled ops from source:" \
         "this takes about 10 minutes on 2 CPU cores"
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    "$PYTHON" -m venv --system-site-packages "$BUILD/venv"
    "$BUILD/venv/bin/python" -m pip install -q "setuptools<70" wheel ninja
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$BUILD/venv/bin/python" -m pip wheel --no-build-isolation --no-deps \
        -w "$BUILD/wheels" "mmcv==$MMCV_VERSION"
    "$PYTHON" -m pip install "$BUILD"/wheels/mmcv-*.whl
    has "import mmcv.ops" || { step "mmcv.ops still fails to import"; exit 1; }
fi

# mmseg_sb must be the editable install of this checkout (not another clone).
if has "import os, mmengine, mmseg, mmseg_sb; assert mmengine.__version__ == '$MMENGINE_VERSION' and mmseg.__version__ == '$MMSEG_VERSION'; assert os.path.realpath(mmseg_sb.__file__).startswith(os.path.realpath('$ROOT') + os.sep)" \
        && { [[ -z "$EXTRAS" ]] || has "import pytest, flake8, isort, yapf"; }; then
    step "mmengine $MMENGINE_VERSION, mmsegmentation $MMSEG_VERSION and mmseg_sb (this checkout) found, kept"
else
    step "installing mmengine $MMENGINE_VERSION, mmsegmentation $MMSEG_VERSION and mmseg_sb$EXTRAS (editable)"
    "$PYTHON" -m pip install "mmengine==$MMENGINE_VERSION" "mmsegmentation==$MMSEG_VERSION" \
        -e "$ROOT$EXTRAS"
fi
step "done"
