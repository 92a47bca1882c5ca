#!/usr/bin/env bash
# One command on a fresh machine: install everything, then run the whole suite twice:
# embedded (SQLite, eager jobs) and production (PostgreSQL, Redis, a real celery worker).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
scripts/ensure_services.sh
export PYTHONUNBUFFERED=1
PY=.venv/bin/python

echo "== mypy: detection/pipeline"
$PY -m mypy detection/pipeline

echo "== embedded mode (SQLite)"
env -u DATABASE_URL -u REDIS_URL VODSCOPE_HOME="$PWD/var/test-embedded" \
  $PY -m pytest -p no:cacheprovider "$@"

echo "== production mode (PostgreSQL + Redis + celery worker)"
DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/vodscope}" \
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}" \
VODSCOPE_HOME="$PWD/var/test-production" \
  $PY -m pytest -p no:cacheprovider -m "not pure" "$@"
