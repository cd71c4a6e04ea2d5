#!/usr/bin/env bash
# Debian's nginx for `make run-cluster`, the cluster tests and the drills. Lantern runs it as
# an ordinary process with its own configuration (var/cluster/nginx.conf), never as the
# system service, so only the binary is needed.
set -euo pipefail
if [ -x /usr/sbin/nginx ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
# Keep the package from starting the system nginx on port 80 (policy-rc.d exit 101 means
# "don't start services"), unless the machine already has a policy of its own.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx >/dev/null
if [ -n "$policy" ]; then $sudo rm -f "$policy"; fi
/usr/sbin/nginx -v
