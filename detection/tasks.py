from __future__ import annotations

# The worker_ready hook that re-queues orphaned jobs lives in project/celery.py.
