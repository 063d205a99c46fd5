#!/bin/bash
# Here: pack the parts of the onnxruntime-gpu wheel Jump loads into xz parts that fit a
# device call (64 MiB with the tree; send the tree without models/ while staging).
# xz of the unpacked wheel is 185 MiB against 242 MiB for the trimmed zip: 4 calls, not 12.
set -eu
DEST=${1:?checkout that the device calls send}
WHEEL_VERSION=1.31.1
PART_BYTES=${PART_BYTES:-60817408}  # 58 MiB
mkdir -p "$DEST/.dev/whl"
if ! ls "$DEST"/.dev/whl/onnxruntime_gpu-*.whl >/dev/null 2>&1; then
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 -d "$DEST/.dev/whl" "onnxruntime-gpu==$WHEEL_VERSION"
fi
work=$(mktemp -d)
(cd "$work" && unzip -q "$DEST"/.dev/whl/onnxruntime_gpu-*.whl)
# what Jump's Python does not load: the C API library, TensorRT's provider, the tools
rm -rf "$work"/onnxruntime/capi/libonnxruntime.so.* \
  "$work"/onnxruntime/capi/libonnxruntime_providers_tensorrt.so \
  "$work"/onnxruntime/{transformers,quantization,tools}
rm -rf "$DEST"/.dev/p[0-9]*
mkdir -p "$DEST/.dev/split"
tar -C "$work" -cf - . | xz -9e -T0 | (cd "$DEST/.dev/split" && split -b "$PART_BYTES" -d -a 2 - part)
rm -rf "$work"
for f in "$DEST"/.dev/split/part*; do
  n=${f##*/part}; mkdir -p "$DEST/.dev/p$n"; mv "$f" "$DEST/.dev/p$n/"
done
cat "$DEST"/.dev/p*/part* | sha256sum | cut -d' ' -f1 > "$DEST/.dev/ort.sha"
cp "$DEST/.dev/ort.sha" "$DEST/.dev/p00/"
du -sh "$DEST"/.dev/p*
