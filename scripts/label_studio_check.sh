#!/usr/bin/env bash
# The Label Studio round trip against a real server (issue 6): installs Label
# Studio in its own virtual environment when missing, starts it on loopback
# with a throwaway user and API token, runs the tests marked `label_studio`
# (tests/labels/test_label_studio_server.py) and stops the server.
#
#   bash scripts/label_studio_check.sh            # extra arguments go to pytest
#
# LABEL_STUDIO_VENV   where the venv lives (default ~/.cache/pingjia/label-studio)
# LABEL_STUDIO_PYTHON the Python that makes it (default python3.11)
# Measured here: install 84 s (from a local package mirror), start 1-3 min on
# 2 busy cores (first run: database migrations), test 6 s.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "==> $*" >&2; }

VERSION=1.23.2
VENV=${LABEL_STUDIO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/pingjia/label-studio}
PYTHON=${LABEL_STUDIO_PYTHON:-python3.11}

if [ ! -x "$VENV/bin/label-studio" ]; then
  log "installing label-studio==$VERSION into $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q "label-studio==$VERSION"
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$(mktemp -d)
TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
export LABEL_STUDIO_BASE_DATA_DIR="$DATA"
export LABEL_STUDIO_USERNAME="check@pingjia.local"
LABEL_STUDIO_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(16))')
export LABEL_STUDIO_PASSWORD
export LABEL_STUDIO_USER_TOKEN="$TOKEN"
# the check uses the plain token of the user made at start-up
export LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true
export LATEST_VERSION_CHECK=false  # no call to pypi.org

log "starting Label Studio on 127.0.0.1:$PORT (log: $DATA/server.log)"
"$VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 \
  --port "$PORT" --username "$LABEL_STUDIO_USERNAME" \
  --password "$LABEL_STUDIO_PASSWORD" --user-token "$TOKEN" \
  >"$DATA/server.log" 2>&1 &
SERVER=$!
stop() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap stop EXIT

started=$SECONDS
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
  if ! kill -0 "$SERVER" 2>/dev/null; then
    tail -n 30 "$DATA/server.log" >&2
    log "Label Studio exited before it answered; its log is above"
    exit 1
  fi
  if (( SECONDS - started > 600 )); then
    log "Label Studio did not answer on /health within 600 s"
    exit 1
  fi
  sleep 2
done
log "Label Studio answered after $(( SECONDS - started )) s"

PINGJIA_LABEL_STUDIO_URL="http://127.0.0.1:$PORT" PINGJIA_LABEL_STUDIO_TOKEN="$TOKEN" \
  .venv/bin/python -m pytest -q -m label_studio tests/labels/test_label_studio_server.py "$@"
