#!/bin/bash
# Installs what is missing, builds, starts trellisd on its embedded defaults
# and runs the demo.  (The demo grows as the daemon does.)
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
scons -Q -j"$(nproc)"
echo "== plugins =="
build/bin/trellisd --list-plugins
