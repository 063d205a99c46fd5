#!/bin/bash
# Here (Debian 12 with obs-studio, xvfb, x11-xkb-utils installed): pack libobs, its OpenGL
# module, two plugins, Xvfb and the libraries they load into DEST/.dev/obs, in parts that
# fit a device call beside the tracked tree, with this worktree's code to run there.
#   bash scripts/gpu/obs_prepare.sh /path/to/the/checkout/the/device/calls/send [PART_MB]
# Then on the device: bash .dev/obs/code/scripts/gpu/obs_run.sh, carrying .dev/obs and the
# part folders .dev/obs-pNN (scripts/gpu/README.md).
set -eu
DEST=${1:?checkout that the device calls send}
PART_MB=${2:-20}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TREE=$(mktemp -d /tmp/obs-tree.XXXXXX)
python3 "$SRC/scripts/gpu/obs_bundle.py" "$TREE/obs"
tar -C "$TREE/obs" -cf - . | xz -9e -T2 > "$TREE/obs.tar.xz"
B="$DEST/.dev/obs"
rm -rf "$B" "$DEST"/.dev/obs-p[0-9]*
mkdir -p "$B/code/models"
(cd "$B" && split -b "$((PART_MB * 1048576))" -d -a 2 "$TREE/obs.tar.xz" obs.tar.xz.part)
for f in "$B"/obs.tar.xz.part*; do  # one folder a part, so a call can carry one part
  n=${f##*.part}; mkdir -p "$DEST/.dev/obs-p$n"; mv "$f" "$DEST/.dev/obs-p$n/"
done
sha256sum "$TREE/obs.tar.xz" | cut -d' ' -f1 > "$B/obs.sha"
cp "$TREE/obs/MANIFEST.json" "$B/"
cp -r "$SRC/jump" "$SRC/scripts" "$B/code/"
cp "$SRC"/models/*.json "$B/code/models/"
find "$B/code" -name __pycache__ -prune -exec rm -rf {} +
echo "unpacked $(du -sh "$TREE/obs" | cut -f1), packed $(du -h "$TREE/obs.tar.xz" | cut -f1)"
rm -rf "$TREE"
du -sh "$DEST"/.dev/obs-p*/* "$B/code" "$B"
