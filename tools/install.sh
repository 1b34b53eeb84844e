#!/usr/bin/env bash
# Install mmseg_sb and what it needs into the active Python environment
# (a venv made by `python3 -m venv`, a conda env, or a plain Python).
#
# Idempotent: every step is skipped when what it provides already works, so a
# second run takes seconds. Usage: bash tools/install.sh [--test]
#   --test   also install the test and lint extras (pytest, flake8, isort, ...)
#
# On a CUDA machine, install torch and OpenMMLab's prebuilt mmcv first
# (`pip install -U openmim && mim install mmcv==2.1.0`); this script then keeps
# them and only adds the rest.
#
# mmcv: PyPI only has the 2.1.0 source, and MMSeg needs its compiled ops. The
# wheel is built once per (python tag, torch version, this script) in a build
# venv of its own, checked for `mmcv/_ext*.so`, and kept in
# $MMSEG_SB_CACHE/wheels (default ~/.cache/mmseg_sb/wheels), so another venv on
# the same machine installs it in seconds. pip's own wheel cache is never used
# for it: it once kept a broken (ops-less) build that every later try reused.
set -euo pipefail

if [[ -z "${PYTHON:-}" ]]; then
    if command -v python >/dev/null 2>&1; then PYTHON=python; else PYTHON=python3; fi
fi
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
MMCV_VERSION=2.1.0
MMENGINE_VERSION=0.10.7
MMSEG_VERSION=1.2.2
EXTRAS=""
[[ "${1:-}" == "--test" ]] && EXTRAS="[tests]"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MMSEG_SB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmseg_sb}
step() { echo "[mmseg_sb install] $*"; }
fail() { echo "[mmseg_sb install] ERROR: $*" >&2; exit 1; }
# Run checks outside the checkout, so that they see what is installed.
has() { (cd / && "$PYTHON" -c "$1") >/dev/null 2>&1; }
py() { (cd / && "$PYTHON" -c "$1"); }
BUILD_TMP=""
trap '[[ -z "$BUILD_TMP" ]] || rm -rf "$BUILD_TMP"' EXIT

command -v "$PYTHON" >/dev/null 2>&1 \
    || fail "no Python interpreter '$PYTHON'; activate a venv or set PYTHON=/path/to/python"
step "using $(command -v "$PYTHON") ($("$PYTHON" --version 2>&1))"

if has "import torch"; then
    step "torch $(py 'import torch; print(torch.__version__)') found, kept"
else
    step "installing torch==$TORCH_VERSION (about 1 minute)"
    "$PYTHON" -m pip install "torch==$TORCH_VERSION"
fi

# MMEngine 0.10.7 resolves `mmseg::` config references with pkg_resources,
# which setuptools >= 81 no longer ships (torch wants setuptools >= 77).
if has "import pkg_resources"; then
    step "pkg_resources found, kept"
else
    step "installing setuptools>=77,<81 (MMEngine needs pkg_resources; seconds)"
    "$PYTHON" -m pip install "setuptools>=77,<81"
fi

# Prints the names of the compiled extensions inside a wheel (none: nothing).
wheel_ops() {
    "$PYTHON" - "$1" <<'EOF'
import re, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
print(' '.join(n for n in names if re.fullmatch(r'mmcv/_ext[^/]*\.so', n)))
EOF
}

build_mmcv_wheel() {  # $1: the folder that receives the verified wheel
    local build site wheel
    build=$(mktemp -d)
    BUILD_TMP=$build  # removed on exit, whatever the outcome
    # A plain venv holding the old setuptools that mmcv's setup.py needs
    # (pkg_resources), whose path ends with the active environment's
    # site-packages (a .pth file, read after the venv's own folder), so the
    # build sees this environment's torch while its own setuptools wins.
    # `venv --system-site-packages` does not do it: from inside a venv it
    # exposes the base interpreter's packages, not the active ones.
    step "mmcv build 1/4: build venv with setuptools<70, wheel, ninja (about 30 s)"
    "$PYTHON" -m venv "$build/venv"
    "$build/venv/bin/python" -m pip install -q --no-cache-dir "setuptools<70" wheel ninja
    site=$("$build/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    py 'import sys
print("\n".join(p for p in sys.path if p.endswith(("site-packages", "dist-packages"))))' \
        > "$site/zz_mmseg_sb_active_env.pth"
    (cd / && "$build/venv/bin/python" -c 'import torch, pkg_resources') >/dev/null 2>&1 \
        || fail "torch is not visible to the mmcv build (paths in $site/zz_mmseg_sb_active_env.pth)." \
                "Install torch into the active environment first, or set PYTHON to the interpreter that has it."
    step "mmcv build 2/4: compiling mmcv $MMCV_VERSION with CPU/CUDA ops" \
         "(10 to 19 minutes on 2 cores; MAX_JOBS=${MAX_JOBS:-$(nproc)})"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$build/venv/bin/python" -m pip wheel --no-cache-dir --no-build-isolation --no-deps \
        -w "$build/wheels" "mmcv==$MMCV_VERSION"
    wheel=$(ls "$build"/wheels/mmcv-*.whl)
    step "mmcv build 3/4: checking $(basename "$wheel") for compiled ops"
    [[ -n "$(wheel_ops "$wheel")" ]] \
        || fail "the mmcv wheel was built without compiled ops (no mmcv/_ext*.so in $(basename "$wheel")):" \
                "torch was not visible to its setup.py. Nothing was installed or cached." \
                "Check that '$PYTHON -c \"import torch\"' works, then run this script again."
    mkdir -p "$1"
    cp "$wheel" "$1/"
    step "mmcv build 4/4: kept the verified wheel in $1"
}

if has "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'"; then
    step "mmcv $MMCV_VERSION with compiled ops found, kept"
else
    # Key: python tag, torch version (ABI of the ops) and this script's hash,
    # so any change to the installer builds (and so tests) the build path again.
    PYTAG=$(py 'import sys; print("cp%d%d" % sys.version_info[:2])')
    TORCH_TAG=$(py 'import torch; print(torch.__version__)')
    SCRIPT_HASH=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
    WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-$PYTAG-torch$TORCH_TAG-install$SCRIPT_HASH"
    wheel=$(ls "$WHEEL_DIR"/mmcv-*.whl 2>/dev/null | head -n 1 || true)
    if [[ -n "$wheel" && -n "$(wheel_ops "$wheel")" ]]; then
        step "using the cached, verified mmcv wheel $wheel (seconds)"
    else
        step "no cached mmcv wheel for $PYTAG, torch $TORCH_TAG and this installer in $WHEEL_DIR"
        build_mmcv_wheel "$WHEEL_DIR"
        wheel=$(ls "$WHEEL_DIR"/mmcv-*.whl)
    fi
    step "installing $(basename "$wheel")"
    "$PYTHON" -m pip install --no-cache-dir "$wheel"
    has "import mmcv.ops" \
        || fail "mmcv.ops fails to import after installing $wheel; delete $WHEEL_DIR and run again."
fi

# mmseg_sb must be the editable install of this checkout (not another clone).
if has "import os, mmengine, mmseg, mmseg_sb; assert mmengine.__version__ == '$MMENGINE_VERSION' and mmseg.__version__ == '$MMSEG_VERSION'; assert os.path.realpath(mmseg_sb.__file__).startswith(os.path.realpath('$ROOT') + os.sep)" \
        && { [[ -z "$EXTRAS" ]] || has "import pytest, flake8, isort, yapf"; }; then
    step "mmengine $MMENGINE_VERSION, mmsegmentation $MMSEG_VERSION and mmseg_sb (this checkout) found, kept"
else
    step "installing mmengine $MMENGINE_VERSION, mmsegmentation $MMSEG_VERSION and" \
         "mmseg_sb$EXTRAS, editable (about 1 minute)"
    "$PYTHON" -m pip install "mmengine==$MMENGINE_VERSION" "mmsegmentation==$MMSEG_VERSION" \
        -e "$ROOT$EXTRAS"
fi
step "done"
