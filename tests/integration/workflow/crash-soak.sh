#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The long version of crash.t: many more kill -9, longer steps (so more
# kills land inside a step or a compensation).  Not run by the suite.
#   tests/integration/workflow/crash-soak.sh [KILLS]   (default 2000)
# Needs TRELLIS_BUILD (default: build/) with trellisd, trellis and
# tests/plugins/marker.so built.
here=$(cd "$(dirname "$0")" && pwd)
export TRELLIS_SRC=${TRELLIS_SRC:-$(cd "$here/../../.." && pwd)}
export TRELLIS_BUILD=${TRELLIS_BUILD:-$TRELLIS_SRC/build}
export CRASH_KILLS=${1:-2000} CRASH_SOAK=1
export TRELLIS_MARKER_DELAY_MS=${TRELLIS_MARKER_DELAY_MS:-40}
exec "$here/crash.t"
