#!/usr/bin/env bash
# One command on a fresh machine: install, migrate, create an admin, render a demo recording, start web + worker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
export PYTHONUNBUFFERED=1
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py bootstrap_demo
port="${PORT:-8000}"
.venv/bin/celery -A project worker --loglevel=INFO --concurrency=1 \
  -Q detect,vlm,import,export,train,proxy &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
echo "Vodscope on http://127.0.0.1:$port/ (Ctrl-C stops web and worker)"
$PY -m daphne -b 127.0.0.1 -p "$port" project.asgi:application
