#!/usr/bin/env bash
# One command on a fresh machine: install everything, then run the whole suite twice, side by side:
#   1. embedded: SQLite + filesystem broker (jobs inline, plus a real worker process in tests/project)
#   2. production: PostgreSQL + Redis + a real celery worker process; tests marked `pure` or `once`
#      (nothing in them differs between the modes) ran in pass 1
# The passes share nothing (own data folder, database, broker), so they run at the same time: most of a
# pass is spent waiting on workers, browsers and servers. Each pass writes its own log, printed whole
# when both are done. Extra arguments go to both pytest runs (e.g. scripts/test.sh tests/detection -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
scripts/ensure_services.sh
export PYTHONUNBUFFERED=1
PY=.venv/bin/python
started=$SECONDS

# Fresh data folders: no broker messages or media left over from an earlier run.
rm -rf var/test-embedded var/test-production var/test-logs
mkdir -p var/test-logs

# The training venv (torch, ultralytics: several GB from local wheels) installs while mypy checks.
scripts/setup.sh train > var/test-logs/setup-train.log 2>&1 &
train_setup=$!
echo "== mypy: the whole project (files in mypy.ini; detection/pipeline strictest)"
$PY -m mypy
if ! wait "$train_setup"; then
  cat var/test-logs/setup-train.log >&2
  echo "== FAILED: scripts/setup.sh train" >&2
  exit 1
fi

env -u DATABASE_URL -u REDIS_URL VODSCOPE_HOME="$PWD/var/test-embedded" \
  $PY -m pytest -p no:cacheprovider --durations=15 "$@" > var/test-logs/embedded.log 2>&1 &
embedded=$!
DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/vodscope}" \
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}" \
VODSCOPE_HOME="$PWD/var/test-production" \
  $PY -m pytest -p no:cacheprovider --durations=15 -m "not pure and not once" "$@" > var/test-logs/production.log 2>&1 &
production=$!

# Both passes always run to the end, so one CI log shows every failure; the exit status says whether all passed.
failed=()
wait "$embedded" || failed+=(embedded)
echo "== embedded mode (SQLite): $((SECONDS - started)) s since the start"
cat var/test-logs/embedded.log
wait "$production" || failed+=(production)
echo "== production mode (PostgreSQL + Redis + celery worker): $((SECONDS - started)) s since the start"
cat var/test-logs/production.log

if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: ${failed[*]} ($((SECONDS - started)) s)" >&2
  exit 1
fi
echo "== both passes green in $((SECONDS - started)) s"
