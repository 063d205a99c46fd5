#!/bin/bash
# On the device: keep the libobs bundle's parts that came with this call (obs_run.sh
# takes them from /tmp/obs-stage with the ones carried in its own call).
mkdir -p /tmp/obs-stage && cp .dev/obs-p*/obs.tar.xz.part* /tmp/obs-stage/ 2>/dev/null
ls -la /tmp/obs-stage | tail -n +2
