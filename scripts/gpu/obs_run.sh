#!/bin/bash
# On the device (repository root): Jump Matte in libobs on the GPU, results to $OUT.
# Unpacks the parts obs_prepare.sh made (.dev/obs-pNN, carried now or staged by earlier
# calls with obs_stage.sh) to /tmp/obs, starts the carried Xvfb, and runs the libobs
# harness (jump.lab.libobs_render) with OpenGL on the NVIDIA GPU (EGL device platform, via
# the shim) and the matte model through CUDA (onnxruntime-gpu in /tmp/site, as bench.sh
# installs it). Settings by environment: CANVAS (1920x1080) FPS (60) SECONDS_EACH (15)
# SETTLE (5 s after the first mask) MODELS ("auto": one run per model setting, e.g.
# "auto rvm") PROVIDER (cuda).
# OBS_LOCAL=1 runs the same bundle on a Debian machine without a GPU (Mesa llvmpipe, CPU).
set -u -o pipefail
ROOT=$PWD
B=${OBS_BUNDLE:-$ROOT/.dev/obs}
O=/tmp/obs
OUT=${OUT:-/tmp/obs-out}
mkdir -p "$OUT"
LOG="$OUT/obs_run.txt"
exec > >(tee -a "$LOG") 2>&1
if [ -n "${OBS_LOCAL:-}" ]; then
  : "${CANVAS:=640x360}" "${FPS:=30}" "${SECONDS_EACH:=4}" "${PROVIDER:=cpu}"
  : "${PYTHON:=$ROOT/.venv/bin/python}" "${OBS_KEEP_ALL:=1}"
fi
CANVAS=${CANVAS:-1920x1080} FPS=${FPS:-60} SECONDS_EACH=${SECONDS_EACH:-15} SETTLE=${SETTLE:-5}
MODELS=${MODELS:-auto} PROVIDER=${PROVIDER:-cuda} PY=${PYTHON:-python3}
CODE=$B/code
[ -f "$CODE/jump/lab/libobs_render.py" ] || CODE=$ROOT
echo "== obs_run $(date -u +%FT%TZ) canvas $CANVAS@$FPS, models $MODELS via $PROVIDER, code $CODE"

# 1. the bundle: parts carried now or staged before, checked, unpacked once per machine
mkdir -p /tmp/obs-stage
cp "$ROOT"/.dev/obs-p*/obs.tar.xz.part* /tmp/obs-stage/ 2>/dev/null
if [ ! -x $O/bin/Xvfb ] || [ "$(cat $O/.sha 2>/dev/null)" != "$(cat "$B/obs.sha")" ]; then
  cat /tmp/obs-stage/obs.tar.xz.part* > /tmp/obs.tar.xz
  echo "$(cat "$B/obs.sha")  /tmp/obs.tar.xz" | sha256sum -c || exit 1
  rm -rf $O && mkdir -p $O && tar -C $O -xJf /tmp/obs.tar.xz || exit 1
  cp "$B/obs.sha" $O/.sha
fi

# 2. this machine's own copy of a library wins over ours (Debian 12's), stubs included
if [ -z "${OBS_KEEP_ALL:-}" ]; then
  mkdir -p $O/lib/unused
  ldconfig -p | awk 'NR > 1 {print $1}' | sort -u > /tmp/obs-have
  # libglvnd's libraries talk to each other: all this machine's, or all ours
  GLVND="libEGL.so.1 libGL.so.1 libGLX.so.0 libGLdispatch.so.0"
  for n in $GLVND; do grep -qxF "$n" /tmp/obs-have || GLVND=; done
  for f in $O/lib/*.so*; do
    n=${f##*/}
    case $n in
      libobs*|libjump_egl_device.so) continue ;;
      libEGL.so.1|libGL.so.1|libGLX.so.0|libGLdispatch.so.0) [ -n "$GLVND" ] || continue ;;
    esac
    grep -qxF "$n" /tmp/obs-have && mv "$f" $O/lib/unused/
  done
  echo "using this machine's: $(ls $O/lib/unused | tr '\n' ' ')"
elif [ -n "${OBS_LOCAL:-}" ]; then
  # all of ours stay, but Mesa (GL here) needs the real ones of a few we stub
  mkdir -p $O/lib/unused
  python3 -c "import json; print('\n'.join(json.load(open('$O/MANIFEST.json'))['stubs']))" \
    > /tmp/obs-stubs
  for n in $(ldd /usr/lib/x86_64-linux-gnu/libEGL_mesa.so.0 \
    /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so | awk '/=>/ {print $1}' | sort -u); do
    grep -qxF "$n" /tmp/obs-stubs && [ -e $O/lib/$n ] && mv $O/lib/$n $O/lib/unused/
  done
fi

# 3. the GPU's EGL (libglvnd vendor file) and the variables the run needs
export LD_LIBRARY_PATH=$O/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [ -n "${OBS_LOCAL:-}" ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/share/glvnd/egl_vendor.d/50_mesa.json
else
  NV=$(ldconfig -p | awk '/libEGL_nvidia.so.0 / {print $NF; exit}')
  [ -n "$NV" ] || NV=$(find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 \
    -name 'libEGL_nvidia.so.0' 2>/dev/null | head -1)
  [ -n "$NV" ] && export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:${NV%/*}
  JSON=$(find /usr/share/glvnd /usr/local/nvidia /etc/glvnd -path '*egl_vendor.d*' \
    -name '*nvidia*.json' 2>/dev/null | head -1)
  if [ -z "$JSON" ] && [ -n "$NV" ]; then
    JSON=$O/10_nvidia.json
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s"}}\n' "$NV" > "$JSON"
  fi
  echo "NVIDIA EGL: ${NV:-not found}, vendor file ${JSON:-none}"
  export __EGL_VENDOR_LIBRARY_FILENAMES=$JSON __GLX_VENDOR_LIBRARY_NAME=nvidia
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
fi
export JUMP_EGL_DEVICE=${JUMP_EGL_DEVICE:-0} JUMP_MODELS=${JUMP_MODELS:-$ROOT/models}
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site:$CODE

# 4. onnxruntime-gpu: as bench.sh unpacks it, if this machine has the parts but not it
if [ -z "${OBS_LOCAL:-}" ] && [ ! -d /tmp/site/onnxruntime ] && [ -f /tmp/stage/ort.sha ] &&
  [ "$(cat /tmp/stage/part* | sha256sum | cut -d' ' -f1)" = "$(cat /tmp/stage/ort.sha)" ]; then
  mkdir -p /tmp/site && cat /tmp/stage/part* | xz -d | tar -C /tmp/site -xf -
fi
$PY -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())"

# 5. the X server libobs needs for its hotkeys (drawing goes to the GPU's EGL device)
for n in $(seq 77 120); do [ -e /tmp/.X11-unix/X$n ] || break; done
$O/bin/Xvfb :$n -screen 0 1920x1080x24 -nolisten tcp -extension GLX -fp built-ins \
  -xkbdir $O/share/X11/xkb > /tmp/obs-xvfb.log 2>&1 &
XVFB=$!
for _ in $(seq 100); do [ -e /tmp/.X11-unix/X$n ] && break; sleep 0.1; done
[ -e /tmp/.X11-unix/X$n ] || { echo "Xvfb did not start:"; cat /tmp/obs-xvfb.log; exit 1; }
export DISPLAY=:$n

# 6. the harness, once per model setting
RC=0
for model in $MODELS; do
  mkdir -p "$OUT/$model"
  (cd "$CODE" && LD_PRELOAD=$O/lib/libjump_egl_device.so timeout 400 $PY -m jump.lab.libobs_render \
    --canvas "$CANVAS" --fps "$FPS" --seconds "$SECONDS_EACH" --settle "$SETTLE" --model "$model" \
    --provider "$PROVIDER" --data "$ROOT/tests/data/matte" --plugins $O/lib/obs-plugins \
    --plugin-data $O/share/obs-plugins --out "$OUT/$model" --json "$OUT/$model/libobs.json" \
    2>&1 | grep -v "deprecated pixel format") || RC=1
done
kill $XVFB 2>/dev/null
grep -E "EE|Fatal" /tmp/obs-xvfb.log | head -5
exit $RC
