#!/bin/bash
# On the device (repository root): install the staged wheel and measure the matte paths.
set -u
bash scripts/gpu/stage.sh >/dev/null
[ "$(cat /tmp/stage/part* | sha256sum | cut -d' ' -f1)" = "$(cat /tmp/stage/ort.sha)" ] || {
  echo "wheel parts incomplete"; ls -la /tmp/stage; exit 1; }
mkdir -p /tmp/site && cat /tmp/stage/part* | xz -d | tar -C /tmp/site -xf - || exit 1
export PYTHONPATH=/tmp/site:$PWD JUMP_MODELS=$PWD/models JUMP_SHARED=$PWD/tests PYTHONUNBUFFERED=1
nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv
python3 -c "import onnxruntime as o; print(o.__version__, o.get_available_providers())"
B="timeout 90 python3 -m jump bench matte --provider cuda --sizes 1080p --frames 200 --fps 60"
{
  $B --model rvm --inner 448 --path both
  $B --model mediapipe --path both
  [ -n "${QUICK:-}" ] && exit 0
  JUMP_CUDA_GRAPH=1 $B --model rvm --inner 448 --path device
  $B --model rvm --inner 768 --path both
  $B --model rvm --inner 576 --path device
  JUMP_CUDA_GRAPH=1 $B --model mediapipe --path device
  $B --model rvm --inner 256 --path both
  ${EXTRA:-true}
} 2>&1 | tee "$OUT/bench.txt"
