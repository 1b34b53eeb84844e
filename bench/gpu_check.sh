#!/usr/bin/env bash
# The three benchmarks at full size on a GPU (DeepLabV3+ R101, 769x769 crops,
# 1024x2048 images), within about 8 minutes. Writes the tables to
# ${OUT:-bench_out}/gpu_check.md. Usage: bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench_out}
mkdir -p "$OUT"
REPORT="$OUT/gpu_check.md"
{
    echo "# mmseg_sb GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
    python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
} > "$REPORT"
run() { echo; echo "## $*"; timeout 240 python "$@" --out "$REPORT.part" || echo "FAILED ($?): $*"; }
rm -f "$REPORT.part"
run bench/strong_augment.py --repeats 40
run bench/train_step.py --depth 101 --crop 769 --iters 10 --device cuda
run bench/labeling.py --depth 101 --height 1024 --images 24 --workers 4 --device cuda
cat "$REPORT.part" >> "$REPORT" && rm -f "$REPORT.part"
cat "$REPORT"
