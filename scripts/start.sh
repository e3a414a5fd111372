#!/usr/bin/env bash
# One command from a fresh clone: set up everything, train the default model if
# there is none yet (about 11 minutes on 2 cores), then serve it on localhost.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

model_dir=$(.venv/bin/python -c "from model.encoder import default_model_dir; print(default_model_dir())")
if [ ! -f "$model_dir/pingjia.json" ]; then
  echo "==> no default model at $model_dir yet: training one (progress below)"
  .venv/bin/pingjia train
fi

host=${PINGJIA_HOST:-127.0.0.1}
port=${PINGJIA_PORT:-8000}
cat <<MSG

==> starting the service on http://$host:$port (Ctrl-C stops it). Try, in another shell:

curl -s http://$host:$port/v1/classify -H 'content-type: application/json' \\
  -d '{"comments": [{"id": "1", "text": "送餐很快，态度也好，就是汤洒了"}]}'

API docs: http://$host:$port/docs
MSG
exec .venv/bin/pingjia serve --host "$host" --port "$port"
