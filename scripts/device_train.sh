#!/usr/bin/env bash
# One GPU run through the `device` tool: continue the detector and train the T5 rewriter in both
# modes (spans: the design; sentence: the full-sentence baseline) on CUDA (bf16), side by side,
# and bring them back under $OUT within its limits (8 files of < 16 MB, 64 MiB in all).
#
# Prepare here, once (the device machine reaches no network and sees only the repo;
# .device/ is git-ignored and travels by `carry`):
#   mkdir -p .device/corpus && cp ../shared/corpus/{train,valid}.jsonl.gz .device/corpus/
#   .venv/bin/pip download --no-deps --only-binary=:all: -d .device/whl lemminflect==0.2.3
# Run (device tool):   command "bash scripts/device_train.sh", carry [".device"], timeout_s 600
# Then here:           bash scripts/device_train.sh --unpack FILES_AT   # -> runs/device/{detector,rewriter-*}
# Pairs from other spinner presets than the training mix alone: POLICIES=mix,mix,bare bash scripts/device_train.sh
# (then calibrate_detector.py and build_lm.py with the same --policies: README, "Training on a new spin pattern").
# A second, shorter run continuing the detector alone (carry its directory too):
#   MODELS=detector DET_INIT=runs/det-gpu DET_LR=3e-4 DET_WORKERS=12 SECONDS_BUDGET=150 DEADLINE=200 bash scripts/device_train.sh
#
# Session 3 ran both commands above on an H200 (7 + 2.5 minutes of training). Each process
# ran at ~6 steps/s (~34k words/s) alone or three side by side, with 5 or 12 batch workers:
# bound by per-step overhead in the main process, not by the GPU or the data. Profile a few
# seconds first next time; larger batches or a fused optimizer are the likely cures.
#
# Budgets (seconds) are plain variables below; a CPU dry run of the whole script:
#   DEVICE=cpu SECONDS_BUDGET=20 DEADLINE=200 CORPUS=../shared/corpus OUT=/tmp/out PY=.venv/bin/python bash scripts/device_train.sh
set -euo pipefail

if [[ "${1:-}" == "--unpack" ]]; then
    src=$2; dest=runs/device
    rm -rf "$dest" && mkdir -p "$dest"
    tar -xf "$src/meta.tar" -C "$dest"
    for f in "$src"/*.safetensors; do
        name=$(basename "$f"); cp "$f" "$dest/${name%%__*}/${name#*__}"
    done
    ls -l "$dest"/*
    exit 0
fi

DEVICE=${DEVICE:-cuda}
SECONDS_BUDGET=${SECONDS_BUDGET:-420}  # each of the three trainings, run side by side
DEADLINE=${DEADLINE:-530}              # whatever is exported by then is packed (device call limit: 600)
CORPUS=${CORPUS:-.device/corpus}
MODELS=${MODELS:-detector rewriter-spans rewriter-sentence}  # which of the three to train
DET_INIT=${DET_INIT:-models/detector} DET_LR=${DET_LR:-6e-4} DET_WORKERS=${DET_WORKERS:-5}
POLICIES=${POLICIES:-mix}              # spinner presets the pairs draw from, e.g. mix,mix,bare (restore.spin.presets)
: "${OUT:?set OUT (the device tool sets it)}"
work=/tmp/restore-device && rm -rf "$work" && mkdir -p "$work"

if [[ -d .device/whl ]]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/whl/*.whl
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
PY=${PY:-python3}
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nproc

# One GPU, three small models: each process is bound by its own Python and batch building
# (done by worker processes), so they share the GPU side by side for the whole budget.
# The detector keeps the shipped size (the CPU speed target) and continues from it.
train() {  # what, name, workers, args...: log to $work/name.log, model to $work/name
    local what=$1 name=$2 workers=$3; shift 3
    timeout "$DEADLINE" $PY -m restore.cli train "$what" --corpus "$CORPUS/train.jsonl.gz" --valid "$CORPUS/valid.jsonl.gz" \
        --device "$DEVICE" --out "$work/$name" --run "$work/run-$name" --batch-size 256 --max-steps 100000 \
        --max-minutes "$($PY -c "print($SECONDS_BUDGET / 60)")" --set workers="$workers" --set ckpt_minutes=100 \
        --set policies="$POLICIES" \
        "$@" > "$work/$name.log" 2>&1 || echo "$name: training failed or stopped at the deadline"
}
pids=()
if [[ " $MODELS " == *" detector "* ]]; then
    train detector detector "$DET_WORKERS" --init "$DET_INIT" --lr "$DET_LR" --set warmup=500 --set eval_every=1000 \
        --set n_valid=2000 &
    pids+=($!)
fi
for mode in spans sentence; do
    [[ " $MODELS " == *" rewriter-$mode "* ]] || continue
    train rewriter "rewriter-$mode" 4 --lr 1e-3 --set warmup=1000 --set eval_every=1500 --set mode=$mode &
    pids+=($!)
done
wait "${pids[@]}"

# Shards travel as files, everything small (configs, tokenizers, logs) in one tar.
models=()
for name in $MODELS; do
    echo "== $name"; tr '\r' '\n' < "$work/$name.log" | grep -v "it/s\|s/it" | tail -12 || true
    compgen -G "$work/$name/*.safetensors" > /dev/null || continue
    cp "$work/run-$name/log.jsonl" "$work/$name/train_log.jsonl" || true
    models+=("$name")
    for f in "$work/$name"/*.safetensors; do mv "$f" "$OUT/${name}__$(basename "$f")"; done
done
tar -cf "$OUT/meta.tar" -C "$work" "${models[@]}"
ls -l "$OUT"
