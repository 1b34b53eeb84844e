#!/usr/bin/env bash
# Gathers into gpu_wheels/ (git-ignored) what bench/gpu_check.sh installs on
# the bare GPU machine, which has Python 3.12, torch, numpy, opencv, scipy,
# matplotlib, pillow, rich, tqdm and pytest but no registry
# (../shared/ENVIRONMENT.md): the pure-Python wheels of mmengine,
# mmsegmentation and what they need beyond that image; the mmcv 2.1.0 sdist
# and the tools to build it (pip, setuptools<70, wheel, ninja); and, given a
# Python 3.12 with the machine's torch, an mmcv wheel with CPU ops prebuilt
# for it (bench/build_mmcv_cpu.sh; about 15 minutes on 2 cores), so that the
# machine installs it in seconds and builds only if it fails to import.
# Prints the sizes: the folder travels with the working tree (64 MiB in all).
#
# Usage: bash bench/gpu_wheels.sh [PYTHON312_WITH_TORCH]
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${GPU_WHEELS:-gpu_wheels}
PY=${PYTHON:-$(command -v python || command -v python3)}
# Wheels for CPython 3.12 on x86_64 Linux, whatever this machine runs.
FOR_312=(--only-binary=:all: --python-version 3.12 --implementation cp --abi cp312
         --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
         --platform manylinux_2_28_x86_64)
download() {  # $1: sub-folder; the rest: requirements (no dependencies:
              # the image has numpy, opencv, ... and must keep them)
    local sub=$1; shift
    "$PY" -m pip download -q --no-deps "${FOR_312[@]}" -d "$DEST/$sub" "$@" \
        2> >(grep -v "is ignored: it is neither" >&2)
}
SECONDS=0
rm -rf "$DEST"
download runtime mmengine==0.10.7 mmsegmentation==1.2.2 addict termcolor \
    yapf==0.40.1 platformdirs tomli importlib-metadata zipp lazy-importer \
    pyyaml prettytable wcwidth ftfy regex "setuptools>=77,<81"
download build pip "setuptools<70" wheel ninja
# The sdist itself, from the index's JSON page (PEP 691), hash checked:
# `pip download` would run its setup.py, which needs torch.
"$PY" - "$DEST/sdist" mmcv-2.1.0.tar.gz <<'PY'
import hashlib, json, os, sys, urllib.request
out_dir, name = sys.argv[1:]
page = urllib.request.Request(
    'https://pypi.org/simple/mmcv/',
    headers={'Accept': 'application/vnd.pypi.simple.v1+json'})
entry, = (f for f in json.load(urllib.request.urlopen(page))['files']
          if f['filename'] == name)
data = urllib.request.urlopen(entry['url']).read()
if hashlib.sha256(data).hexdigest() != entry['hashes']['sha256']:
    sys.exit(f'{name}: its sha256 differs from the index\'s')
os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, name), 'wb') as f:
    f.write(data)
PY
echo "[gpu_wheels] downloaded in ${SECONDS} s"
if [[ -n "${1:-}" ]]; then
    tag=$(bash bench/build_mmcv_cpu.sh --tag "$1")
    SECONDS=0
    bash bench/build_mmcv_cpu.sh "$1" "$DEST" "$DEST/$tag" >/dev/null
    echo "[gpu_wheels] mmcv with CPU ops prebuilt for $tag in ${SECONDS} s"
fi
du -sh "$DEST"/*
tree=$(git ls-files -z | du -cb --files0-from=- | tail -n 1 | cut -f1)
carried=$(du -sb "$DEST" | cut -f1)
echo "[gpu_wheels] working tree $((tree / 1024)) KiB + $DEST $((carried / 1024)) KiB" \
     "= $(((tree + carried) / 1048576)) MiB (limit 64 MiB)"
(( tree + carried < 64 * 1048576 )) || { echo "[gpu_wheels] ERROR: over 64 MiB" >&2; exit 1; }
