#!/bin/bash
# Here: split the onnxruntime-gpu wheel into parts that fit a device call beside the
# tracked tree, and copy this worktree's code into DEST/.dev/gpu (ignored there).
set -eu
DEST=${1:?checkout that the device calls send}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
WHEEL_VERSION=1.31.1
mkdir -p "$DEST/.dev/whl"
if ! ls "$DEST"/.dev/whl/onnxruntime_gpu-*.whl >/dev/null 2>&1; then
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 -d "$DEST/.dev/whl" "onnxruntime-gpu==$WHEEL_VERSION"
fi
# what Jump's Python does not load: the C API library, TensorRT's provider, the tools
cp "$DEST"/.dev/whl/onnxruntime_gpu-*.whl /tmp/ort.whl
zip -q -d /tmp/ort.whl 'onnxruntime/capi/libonnxruntime.so.*' \
  'onnxruntime/capi/libonnxruntime_providers_tensorrt.so' 'onnxruntime/transformers/*' \
  'onnxruntime/quantization/*'
rm -rf "$DEST"/.dev/p[0-9]* "$DEST/.dev/gpu"
mkdir -p "$DEST/.dev/split"
(cd "$DEST/.dev/split" && rm -f part* && split -b 22020096 -d -a 2 /tmp/ort.whl part)
for f in "$DEST"/.dev/split/part*; do
  n=${f##*/part}; mkdir -p "$DEST/.dev/p$n"; mv "$f" "$DEST/.dev/p$n/"
done
mkdir -p "$DEST/.dev/gpu/models"
cp -r "$SRC/jump" "$SRC/scripts" "$DEST/.dev/gpu/"
cp "$SRC"/models/*.json "$DEST/.dev/gpu/models/"
find "$DEST/.dev/gpu" -name __pycache__ -prune -exec rm -rf {} +
sha256sum /tmp/ort.whl | cut -d' ' -f1 > "$DEST/.dev/gpu/ort.sha"
du -sh "$DEST"/.dev/p* "$DEST/.dev/gpu"
