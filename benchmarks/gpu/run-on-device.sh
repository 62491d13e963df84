#!/usr/bin/env bash
# The GPU check, run on the GPU machine from the repository root after benchmarks/run-gpu-check.sh
# prepared .device/gpu-check/ (the device tool carries it: carry [".device/gpu-check"]):
#   bash benchmarks/gpu/run-on-device.sh
# Builds nothing. Unpacks the self-contained benchmark, points it at the PyTorch installation's
# libtorch, runs SpatialNet's benchmark and the PyTorch reference (paper configuration) for fp32 b32,
# bf16 b32, bf16 b128 and PyTorch's bf16 autocast b32, then the plain TorchSharp loop, a step-phase
# breakdown, the input pipeline and caption decoding (cache on and off), and prints one table with
# ratios (ours / PyTorch) last. About 3 minutes of runs. Logs go to $OUT (the device tool's folder) or /tmp/spatialnet-gpu-check.
#
# Local dry run of the same flow on CPU (no GPU, no PyTorch needed), e.g.:
#   SPATIALNET_LIBTORCH_DIR=~/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native \
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_MODEL="--depth 2 --dim 64 --heads 4 --patch 8 --img 32" bash benchmarks/gpu/run-on-device.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

archive=.device/gpu-check/spatialnet-benchmarks-linux-x64.tar.xz
device=${GPU_CHECK_DEVICE:-cuda}
model=${GPU_CHECK_MODEL:-}            # empty: the paper configuration (both programs' defaults)
out=${OUT:-/tmp/spatialnet-gpu-check}
mkdir -p "$out"
log="$out/results.log"
: > "$log"

if [ ! -f "$archive" ]; then
  echo "error: $archive is missing; run benchmarks/run-gpu-check.sh on a machine with the .NET SDK and carry .device/gpu-check" >&2
  exit 1
fi
app_root=/tmp/spatialnet-benchmarks
rm -rf "$app_root" && mkdir -p "$app_root" && tar -xJf "$archive" -C "$app_root"
app="$app_root/spatialnet-benchmarks/spatialnet-benchmarks"

have_torch=0
if python3 -c 'import torch' 2>/dev/null; then have_torch=1; fi
if [ -z "${SPATIALNET_LIBTORCH_DIR:-}" ]; then
  if [ "$have_torch" != 1 ]; then
    echo "error: no SPATIALNET_LIBTORCH_DIR and python3 has no torch to take libtorch from" >&2
    exit 1
  fi
  SPATIALNET_LIBTORCH_DIR=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
fi
export SPATIALNET_LIBTORCH_DIR
export LD_LIBRARY_PATH="$SPATIALNET_LIBTORCH_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

{
  echo "# GPU check $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  [ "$have_torch" = 1 ] && python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)'
  echo "libtorch for SpatialNet: $SPATIALNET_LIBTORCH_DIR"
} 2>&1 | tee -a "$log"

# run SECONDS COMMAND...: one benchmark, its output appended to the log.
run() {
  local limit=$1; shift
  echo "+ $*" | tee -a "$log"
  timeout "$limit" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || echo "(exit code $rc)" | tee -a "$log"
}
# Each run is capped at 90 s so that a hang cannot use up the device time (15 minutes in all).
ours() { run 90 "$app" --device "$device" $model "$@"; }
reference() {
  if [ "$have_torch" = 1 ]; then
    run 90 env PYTHONUNBUFFERED=1 python3 benchmarks/reference/vit_train_bench.py --device "$device" $model "$@"
  else
    echo "(no PyTorch here: skipped the reference run $*)" | tee -a "$log"
  fi
}

# Smoke gate (a few seconds): the tiny model through every mode of ours. If it fails, stop here and
# keep the device time: the log says why.
tiny="--depth 2 --dim 64 --heads 4 --patch 8 --img 32"
smoke_ok=1
for mode in "--precision fp32" "--precision bf16" "--precision bf16 --optimizer torch" "--precision bf16 --pipeline --samples 256 --model-img-s 1" "--precision bf16 --decode --max-len 8"; do
  echo "+ smoke: $mode" | tee -a "$log"
  # Its own log, so that the tiny runs stay out of the result table.
  timeout 40 "$app" --device "$device" $tiny --batch 8 --steps 3 --warmup 1 $mode >> "$out/smoke.log" 2>&1 || { echo "SMOKE FAILED: $mode (see smoke.log)" | tee -a "$log"; smoke_ok=0; }
done
if [ "$smoke_ok" != 1 ]; then
  tail -40 "$out/smoke.log"
  exit 1
fi

b32="--batch 32 --steps 30 --warmup 5"
b128="--batch 128 --steps 20 --warmup 3"
ours --precision fp32 $b32
reference --precision fp32 $b32
ours --precision bf16 $b32
reference --precision bf16-pure $b32
reference --precision bf16-amp $b32
ours --precision bf16 $b128
reference --precision bf16-pure $b128
# The issue's baseline on the same machine: a plain TorchSharp loop with per-parameter AdamW, bf16 weights.
ours --precision bf16 --optimizer torch $b32
# Where the time goes: each phase of our bf16 step timed with a device sync around it.
ours --precision bf16 --breakdown --batch 32 --steps 10 --warmup 3
# The input pipeline alone vs what the bf16 b32 step consumes (measured above).
model_rate=$(grep '^RESULT impl=spatialnet-[0-9.]* ' "$log" | grep 'precision=bf16-mixed' | grep ' batch=32 ' | head -1 | sed -E 's/.* img_s=([0-9.]+).*/\1/')
if [ -n "$model_rate" ]; then
  ours --precision bf16 --pipeline --batch 32 --samples 2048 --model-img-s "$model_rate"
else
  ours --precision bf16 --pipeline --batch 32 --samples 2048 --steps 10 --warmup 3
fi
# Caption generation of the paper's caption head (3 layers, beam 3, 22 tokens) on the encoder's tokens,
# key/value cache on and off, bf16, 32 images: 2 untimed and 10 timed batches per variant.
ours --precision bf16 --decode --batch 32 --beam 3 --max-len 22 --warmup 2 --steps 10

echo
python3 benchmarks/gpu/result_table.py "$log" | tee "$out/table.md"
