#!/usr/bin/env bash
# One command on a fresh machine: install, migrate, print an admin login, render + register a demo
# recording (queuing its detection), then run web (daphne) and one background worker (celery) together.
# Embedded defaults: SQLite and a filesystem broker under $VODSCOPE_HOME (./var); set DATABASE_URL and
# REDIS_URL for production. HOST/PORT choose where the web server listens.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
export PYTHONUNBUFFERED=1
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py bootstrap_demo ${VODSCOPE_NO_DEMO:+--no-demo}
host="${HOST:-127.0.0.1}"
port="${PORT:-8000}"
$PY -m celery -A project worker --loglevel=INFO --concurrency=1 -Q detect,vlm,import,export,train,proxy -n jobs@%h &
worker=$!
# Live sessions run for hours: a worker of their own, so detect jobs never wait behind one (detection/services/live_job.py).
$PY -m celery -A project worker --loglevel=INFO --pool=threads --concurrency=2 -Q live -n live@%h &
live_worker=$!
trap 'kill "$worker" "$live_worker" 2>/dev/null || true; wait "$worker" "$live_worker" 2>/dev/null || true' EXIT INT TERM
echo "Vodscope on http://$host:$port/ (log in with the admin login above; Ctrl-C stops web and worker)"
$PY -m daphne -b "$host" -p "$port" project.asgi:application
