#!/usr/bin/env bash
# Builds mmcv's wheel with its CPU ops only, offline, for one interpreter and
# its torch: from the sdist and the build tools that bench/gpu_wheels.sh
# gathered. CUDA is hidden, so mmcv's setup.py compiles no CUDA kernel
# (DeepLabV3+ needs none at run time; `import mmseg.models` only needs
# `import mmcv.ops` to work). Used by bench/gpu_wheels.sh (here, for the GPU
# machine's Python and torch) and by bench/gpu_check.sh (there, when the
# prebuilt wheel does not import).
#
# Usage: bash bench/build_mmcv_cpu.sh PYTHON WHEELS OUT_DIR
#   PYTHON  the interpreter whose torch the ops link against
#   WHEELS  the folder of bench/gpu_wheels.sh (sdist/, build/)
#   OUT_DIR receives mmcv-*.whl, checked for mmcv/_ext*.so
#        bash bench/build_mmcv_cpu.sh --tag PYTHON
#   prints what a wheel built for PYTHON is kept under in WHEELS:
#   mmcv-cp<python>-torch<release> (the CUDA local tag left out: the CPU
#   ops' ABI does not depend on it)
set -euo pipefail
if [[ ${1:-} == --tag ]]; then
    "$2" -c 'import sys, torch; print("mmcv-cp%d%d-torch%s" % (*sys.version_info[:2], torch.__version__.split("+")[0]))'
    exit
fi
PYTHON=$1 WHEELS=$(cd "$2" && pwd) OUT=$3
TOOLS=$(mktemp -d)
trap 'rm -rf "$TOOLS"' EXIT
PIP=("$PYTHON" "$(ls "$WHEELS"/build/pip-*.whl)/pip")  # pip runs from its wheel
# setuptools<70 (mmcv's setup.py needs pkg_resources), wheel and ninja (the
# compile runs MAX_JOBS at once only under ninja), put first on the path.
"${PIP[@]}" install -q --no-index --no-deps --target "$TOOLS" "$WHEELS"/build/*.whl
mkdir -p "$OUT"
CUDA_VISIBLE_DEVICES= FORCE_CUDA=0 MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    PYTHONPATH="$TOOLS" PATH="$TOOLS/bin:$PATH" \
    "${PIP[@]}" wheel -q --no-index --no-deps --no-build-isolation --no-cache-dir \
    -w "$OUT" "$(ls "$WHEELS"/sdist/mmcv-*.tar.gz)"
wheel=$(ls "$OUT"/mmcv-*.whl)
"$PYTHON" - "$wheel" <<'PY'
import re, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
if not any(re.fullmatch(r'mmcv/_ext[^/]*\.so', n) for n in names):
    sys.exit(f'{sys.argv[1]} has no mmcv/_ext*.so: torch was not visible '
             'to the build')
PY
echo "$wheel"
