#!/usr/bin/env bash
# One GPU run through the `device` tool: train a larger detector and the T5 rewriter in both
# modes (spans: the design; sentence: the full-sentence baseline) on CUDA (bf16), and bring them back under $OUT within its limits (8 files of < 16 MB).
#
# Prepare here, once (the device machine reaches no network and sees only the repo;
# .device/ is git-ignored and travels by `carry`):
#   mkdir -p .device/corpus && cp ../shared/corpus/{train,valid}.jsonl.gz .device/corpus/
#   .venv/bin/pip download --no-deps --only-binary=:all: -d .device/whl lemminflect==0.2.3
# Run (device tool):   command "bash scripts/device_train.sh", carry [".device"], timeout_s 600
# Then here:           bash scripts/device_train.sh --unpack FILES_AT   # -> runs/device/{detector,rewriter-*}
#
# Budgets (seconds) and sizes are plain variables below; a CPU dry run of the whole
# script: DEVICE=cpu DET_SECONDS=20 RW_SECONDS=20 OUT=/tmp/out bash scripts/device_train.sh
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
DET_SECONDS=${DET_SECONDS:-220}
RW_SECONDS=${RW_SECONDS:-120}  # each of the two rewriters: spans (the design) and sentence (the baseline)
WORKERS=${WORKERS:-12}
CORPUS=${CORPUS:-.device/corpus}
: "${OUT:?set OUT (the device tool sets it)}"
work=/tmp/restore-device && rm -rf "$work" && mkdir -p "$work/run-det"

if [[ -d .device/whl ]]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/whl/*.whl
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
PY=${PY:-python3}
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
cp models/detector/tokenizer.model "$work/run-det/spm.model"  # keep the shipped tokenizer

minutes() { $PY -c "print($1 / 60)"; }
train() {  # what, log name, args...: the progress bar goes to the log, errors and results to stdout
    local what=$1 log=$work/$2.log; shift 2
    if ! $PY -m restore.cli train "$what" "$@" > "$log" 2>&1; then tr '\r' '\n' < "$log" | tail -30; exit 1; fi
    tr '\r' '\n' < "$log" | grep -v "it/s\|s/it" | tail -15
}
common=(--corpus "$CORPUS/train.jsonl.gz" --valid "$CORPUS/valid.jsonl.gz" --device "$DEVICE"
        --set workers="$WORKERS" --set ckpt_minutes=100 --batch-size 256 --lr 1e-3 --max-steps 100000)
train detector det "${common[@]}" --out "$work/detector" --run "$work/run-det" --max-minutes "$(minutes "$DET_SECONDS")" \
    --set d_model=256 --set n_layers=6 --set n_heads=8 --set d_ff=1024 --set warmup=1000 --set eval_every=2000 \
    --set n_valid=2000
for mode in spans sentence; do
    train rewriter "rw-$mode" "${common[@]}" --out "$work/rewriter-$mode" --run "$work/run-rw-$mode" \
        --max-minutes "$(minutes "$RW_SECONDS")" --set eval_every=1500 --set warmup=1000 --set mode=$mode
    cp "$work/run-rw-$mode/log.jsonl" "$work/rewriter-$mode/train_log.jsonl"
done
cp "$work/run-det/log.jsonl" "$work/detector/train_log.jsonl"

# Shards travel as files, everything small in one tar.
for model in detector rewriter-spans rewriter-sentence; do
    for f in "$work/$model"/*.safetensors; do mv "$f" "$OUT/${model}__$(basename "$f")"; done
done
tar -cf "$OUT/meta.tar" -C "$work" detector rewriter-spans rewriter-sentence
ls -l "$OUT"
