#!/usr/bin/env bash
# The full-size figures in one command on a bare GPU machine: Python, torch
# and numpy-level packages only, no mmcv, mmengine or mmsegmentation, no
# package registry (../shared/ENVIRONMENT.md). About 6 minutes on an H200.
#
# 1. Bootstrap from gpu_wheels/ (bench/gpu_wheels.sh gathers it; carry it
#    with the job): the pure-Python wheels into a target folder, then mmcv:
#    the wheel prebuilt for this Python and torch if it imports, else built
#    here with CPU ops only (bench/build_mmcv_cpu.sh). Checks that
#    `import mmcv.ops, mmseg.models, mmseg_sb` works. Nothing is installed
#    into the machine's environment: the folder goes first on PYTHONPATH.
# 2. The three benchmarks at full size: strong augmentation (769x769,
#    1024x2048); the training step, ours vs MMSeg's supervised and UniMatch,
#    R101, 769x769, 2 + 2 images, fp32 / fp16 / bf16; labeling vs bare
#    inference at 1024x2048, whole image and flip x 6 scales, each precision.
# 3. End to end: configs/sb_deeplabv3plus_r101_cityscapes_1-8.py at full
#    size on generated images, counts cut (bench/end_to_end.py), the export
#    checked in a process without mmseg_sb.
# Every step is timed and has a time limit, cut to what is left of the whole
# check's budget (GPU_CHECK_BUDGET: 510 s by default, inside the device
# tool's 540 s; 3600 s with --tiny); a failed step is reported and the next
# one runs. Everything goes into $OUT/gpu_check.md (default bench_out/),
# printed at the end; the figures are written to $OUT as each step ends, so
# a run killed from outside still leaves them.
#
# Usage: bash bench/gpu_check.sh [--device cpu] [--tiny] [--build-mmcv]
#   --device cpu  run on the CPU (AMP fp16 is skipped there)
#   --tiny        the same steps at small sizes: the rehearsal on a CPU
#   --build-mmcv  build mmcv from the sdist even if the prebuilt wheel exists
# Environment: PYTHON (default: python3 on the PATH), GPU_WHEELS (default
# gpu_wheels), OUT, GPU_CHECK_BUDGET.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DEVICE=cuda TINY=0 BUILD_MMCV=0
while (($#)); do
    case $1 in
        --device) DEVICE=$2; shift ;;
        --tiny) TINY=1 ;;
        --build-mmcv) BUILD_MMCV=1 ;;
        *) echo "unknown option $1; see the usage at the top of $0" >&2; exit 2 ;;
    esac
    shift
done
PY=${PYTHON:-$(command -v python3 || command -v python)}
"$PY" -c 'import torch' 2>/dev/null \
    || { echo "$PY has no torch: set PYTHON to the interpreter that has it" >&2; exit 2; }
WHEELS=$(cd "${GPU_WHEELS:-gpu_wheels}" 2>/dev/null && pwd) \
    || { echo "no ${GPU_WHEELS:-gpu_wheels}/: run bash bench/gpu_wheels.sh first" >&2; exit 2; }
OUT=${OUT:-bench_out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
REPORT=$OUT/gpu_check.md
STEPS=$OUT/steps.md
PART=$OUT/figures.md
FAILURES=$OUT/failures.md
rm -f "$STEPS" "$PART" "$FAILURES"
BUDGET=${GPU_CHECK_BUDGET:-$( ((TINY)) && echo 3600 || echo 510)}
WORK=$(mktemp -d)
SITE=$WORK/site
PIP=("$PY" "$(ls "$WHEELS"/build/pip-*.whl)/pip")
TOTAL=$SECONDS

step() {  # step NAME LIMIT COMMAND...: run, time, report the outcome
    local name=$1 limit=$2 start=$SECONDS rc left outcome
    shift 2
    left=$((BUDGET - (SECONDS - TOTAL)))
    if ((left < 15)); then
        echo "| $name | - | SKIPPED (the check's $BUDGET s are spent) |" >> "$STEPS"
        return 1
    fi
    ((limit > left)) && limit=$left
    echo "[gpu_check] $name (at most $limit s) ..."
    timeout -k 5 "$limit" "$@" > "$WORK/step.log" 2>&1
    rc=$?
    case $rc in
        0) outcome=ok ;;
        124) outcome="FAILED (time limit, $limit s)" ;;
        *) outcome="FAILED (exit $rc)" ;;
    esac
    echo "| $name | $((SECONDS - start)) s | $outcome |" >> "$STEPS"
    if [[ $rc != 0 ]]; then
        { echo; echo "### $name: $outcome, last lines"; echo '```'
          tail -n 25 "$WORK/step.log"; echo '```'; } >> "$FAILURES"
    fi
    return $rc
}
bench() {  # bench NAME LIMIT COMMAND...: a step whose table goes to $PART
    printf '\n### %s\n\n' "$1" >> "$PART"
    step "$@"
}

{
    echo "# mmseg_sb GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Mode: device $DEVICE$([[ $TINY == 1 ]] && echo ', tiny sizes (rehearsal)')," \
         "$(nproc) CPU cores, $(uname -sm)."
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
        | sed 's/^/GPU: /'
    "$PY" -c 'import sys, torch; print("Python", sys.version.split()[0], "| torch", torch.__version__, "| CUDA", torch.version.cuda, "| cuDNN", torch.backends.cudnn.version())'
} > "$REPORT"

# 1. Bootstrap.
INSTALL=("${PIP[@]}" install -q --no-index --no-deps --target "$SITE")
step "install the carried wheels" 120 "${INSTALL[@]}" "$WHEELS"/runtime/*.whl
TAG=$(bash bench/build_mmcv_cpu.sh --tag "$PY")
prebuilt=$(ls "$WHEELS/$TAG"/mmcv-*.whl 2>/dev/null)
if [[ $BUILD_MMCV == 0 && -n "$prebuilt" ]] \
        && step "install mmcv prebuilt for $TAG" 120 "${INSTALL[@]}" "$prebuilt" \
        && step "check: the prebuilt mmcv.ops imports" 60 \
            env PYTHONPATH="$SITE" "$PY" -c 'import mmcv.ops'; then
    :
else
    rm -rf "$SITE"/mmcv "$SITE"/mmcv-*.dist-info
    step "build mmcv 2.1.0 with CPU ops ($(nproc) jobs)" 900 \
        bash bench/build_mmcv_cpu.sh "$PY" "$WHEELS" "$WORK/mmcv" \
        && step "install the built mmcv" 120 "${INSTALL[@]}" "$WORK"/mmcv/mmcv-*.whl
fi
export PYTHONPATH=$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}
step "check: import mmcv.ops, mmseg.models, mmseg_sb" 120 "$PY" -c 'import mmcv.ops, mmseg.models, mmseg_sb'
BOOTSTRAPPED=$?
"$PY" -c 'import mmcv, mmengine, mmseg; print("mmcv", mmcv.__version__, "| mmengine", mmengine.__version__, "| mmsegmentation", mmseg.__version__)' \
    >> "$REPORT" 2>/dev/null
BOOTSTRAP_S=$((SECONDS - TOTAL))

# 2 and 3. The benchmarks and the end-to-end run, into one part file.
if [[ $BOOTSTRAPPED == 0 ]]; then
    cd bench
    if [[ $TINY == 1 ]]; then
        bench "end to end" 600 "$PY" end_to_end.py --tiny --iters 6 \
            --work-dir "$WORK/end_to_end" --out "$PART"
        bench "bench: training step" 600 "$PY" train_step.py --depth 18 --crop 64 --iters 2 \
            --device "$DEVICE" --precision fp32 fp16 bf16 --out "$PART"
        bench "bench: labeling" 300 "$PY" labeling.py --depth 18 --height 64 --images 4 \
            --workers 0 --device "$DEVICE" --tta --precision fp32 fp16 bf16 --out "$PART"
        bench "bench: strong augmentation" 120 "$PY" strong_augment.py --repeats 10 --out "$PART"
    else
        # The device-specific check first; limits add up to the budget.
        bench "end to end" 150 "$PY" end_to_end.py --iters 30 \
            --work-dir "$WORK/end_to_end" --out "$PART"
        bench "bench: training step" 120 "$PY" train_step.py --depth 101 --crop 769 --iters 10 \
            --device "$DEVICE" --precision fp32 fp16 bf16 --out "$PART"
        bench "bench: labeling" 120 "$PY" labeling.py --depth 101 --height 1024 --images 8 \
            --workers 4 --device "$DEVICE" --tta --precision fp32 fp16 bf16 --out "$PART"
        bench "end to end, AMP fp16" 80 "$PY" end_to_end.py --iters 10 --amp \
            --work-dir "$WORK/end_to_end_amp" --out "$PART"
        bench "bench: strong augmentation" 40 "$PY" strong_augment.py --repeats 40 --out "$PART"
    fi
    cd "$REPO"
fi

{
    echo
    echo "## Steps (bootstrap: $BOOTSTRAP_S s; all: $((SECONDS - TOTAL)) s)"
    echo
    echo "| step | wall | outcome |"
    echo "| --- | --- | --- |"
    cat "$STEPS"
    [[ -s $PART ]] && { echo; echo "## Figures"; cat "$PART"; }
    [[ -f $FAILURES ]] && { echo; echo "## Failures"; cat "$FAILURES"; }
} >> "$REPORT"
rm -f "$STEPS" "$PART" "$FAILURES"
cat "$REPORT"
rm -rf "$WORK"
! grep -q -E "FAILED|SKIPPED" "$REPORT"
