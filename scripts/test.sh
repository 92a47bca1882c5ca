#!/usr/bin/env bash
# One command on a fresh machine: install everything, then run the whole suite twice:
#   1. embedded: SQLite + filesystem broker (jobs inline, plus a real worker process in tests/project)
#   2. production: PostgreSQL + Redis + a real celery worker process; tests marked `pure` ran in pass 1
# Extra arguments go to both pytest runs (e.g. scripts/test.sh tests/detection -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
scripts/ensure_services.sh
export PYTHONUNBUFFERED=1
PY=.venv/bin/python
started=$SECONDS

echo "== mypy: the whole project (files in mypy.ini; detection/pipeline strictest)"
$PY -m mypy

# Fresh data folders: no broker messages or media left over from an earlier run.
rm -rf var/test-embedded var/test-production

# Both passes always run, so one CI log shows every failure; the exit status says whether all passed.
failed=()
echo "== embedded mode (SQLite)"
env -u DATABASE_URL -u REDIS_URL VODSCOPE_HOME="$PWD/var/test-embedded" \
  $PY -m pytest -p no:cacheprovider --durations=10 "$@" || failed+=(embedded)

echo "== production mode (PostgreSQL + Redis + celery worker)"
DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/vodscope}" \
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}" \
VODSCOPE_HOME="$PWD/var/test-production" \
  $PY -m pytest -p no:cacheprovider --durations=10 -m "not pure" "$@" || failed+=(production)

if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: ${failed[*]} ($((SECONDS - started)) s)" >&2
  exit 1
fi
echo "== both passes green in $((SECONDS - started)) s"
