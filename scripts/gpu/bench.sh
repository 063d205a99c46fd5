#!/bin/bash
# On the device (repository root): install the staged wheel and measure the matte paths.
set -u
G=$PWD/.dev/gpu
bash "$G/scripts/gpu/stage.sh" >/dev/null
cat /tmp/stage/part* > /tmp/ort.whl
echo "$(cat "$G/ort.sha")  /tmp/ort.whl" | sha256sum -c || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/ort.whl || exit 1
export PYTHONPATH=/tmp/site:$G JUMP_MODELS=$PWD/models JUMP_SHARED=$PWD/tests PYTHONUNBUFFERED=1
nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv
python3 -c "import onnxruntime as o; print(o.__version__, o.get_available_providers())"
cd "$G"
B="timeout 120 python3 -m jump bench matte --provider cuda --sizes 1080p --frames 200 --fps 60"
{
  $B --model mediapipe --path both
  $B --model rvm --inner 448 --path both
  JUMP_CUDA_GRAPH=1 $B --model rvm --inner 448 --path device
  $B --model rvm --inner 768 --path both
  $B --model rvm --inner 576 --path device
  JUMP_CUDA_GRAPH=1 $B --model mediapipe --path device
  $B --model rvm --inner 256 --path both
  ${EXTRA:-true}
} 2>&1 | tee "$OUT/bench.txt"
