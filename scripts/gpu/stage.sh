#!/bin/bash
# On the device: keep the parts that came with this call (they outlive the call only in
# /tmp, while the machine stays warm).
mkdir -p /tmp/stage && cp .dev/p*/* /tmp/stage/ 2>/dev/null; ls -la /tmp/stage | tail -n +2
