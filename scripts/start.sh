#!/usr/bin/env bash
# One command from a fresh clone: set up everything, then run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/pingjia corpus stats
.venv/bin/pingjia labels stats
