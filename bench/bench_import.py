"""Import a 10,000-event reviewed log into the hosted stream-producer API, over real HTTP.

Run: .venv/bin/python bench/bench_import.py [--events 10000] [--fault-events 10000] [--failure-rate 0.2]

A daphne subprocess (the production server; SQLite in a temporary VODSCOPE_HOME, or DATABASE_URL)
hosts the API; this process is the import client. Every call goes through the fault-injecting proxy, at 0%
for the clean runs (it counts the writes that reach the target). Prints events per second for the
atomic call and for individual calls, the writes a second import makes, and whether imports
through a proxy failing a fraction of calls (503 before writing, or writing then dropping the
connection) end in exactly the state of a clean import.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VODSCOPE_HOME", tempfile.mkdtemp(prefix="vodscope-bench-import-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from importer.client import ImportClient, RetryPolicy  # noqa: E402
from importer.faultproxy import FaultConfig, FaultProxy  # noqa: E402
from importer.ledger import DbLedger  # noqa: E402
from importer.plan import SessionPlan, build_session_plan, plan_steps  # noqa: E402
from importer.sample_log import synthetic_log  # noqa: E402
from importer.selectors import hosted_snapshot  # noqa: E402
from importer.transport import HttpTransport  # noqa: E402

START = datetime(2026, 1, 15, 18, 0, tzinfo=timezone.utc)
POLICY = RetryPolicy(attempts=12, base_delay=0.01, max_delay=0.5)


def serve() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(Path(os.environ["VODSCOPE_HOME"]) / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "project.asgi:application"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "DJANGO_DEBUG": "0"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start; see server.log")


def account(name: str) -> tuple[object, str]:
    user = get_user_model().objects.create_user(f"{name}-{time.time_ns()}", password="x")
    return user, Token.objects.create(user=user).key


def run(url: str, token: str, plan: SessionPlan, *, mode: str, failure_rate: float = 0.0, seed: int = 0) -> dict[str, Any]:
    blocked = ("/api/import/session",) if mode == "individual" else ()
    with FaultProxy(FaultConfig(upstream=url, failure_rate=failure_rate, seed=seed, block_paths=blocked)) as proxy:
        client = ImportClient(HttpTransport(proxy.url, token), DbLedger(), mode="auto", policy=POLICY,
                              echo=lambda _: None, seed=seed)  # fmt: skip
        started = time.perf_counter()
        summary = client.run([plan])
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "summary": summary, "stats": proxy.config.stats}


def report(label: str, events: int, result: dict[str, Any]) -> None:
    summary, stats = result["summary"], result["stats"]
    session = summary.sessions[0]
    print(
        f"{label:<34} {result['seconds']:8.2f} s  {events / result['seconds']:9.0f} events/s  "
        f"status={session.status:<8} calls={stats.calls:<6} writes reaching target={stats.forwarded_writes:<6} "
        f"503s={stats.refused:<4} dropped-after-write={stats.dropped:<4} stats check ok={summary.verification.get('ok')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--fault-events", type=int, default=10_000, help="log size for the fault runs")
    parser.add_argument("--failure-rate", type=float, default=0.2)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    server, url = serve()
    try:
        log = synthetic_log(started_at=START, events=args.events, seed=1)
        started = time.perf_counter()
        plan = build_session_plan(log, source="bench.json")
        plan_seconds = time.perf_counter() - started
        events = len(log.events)
        print(f"log: {events} events → {len(plan.raids)} raids, {plan.kill_count} kills, {plan.transition_count} "
              f"transitions; {len(plan_steps(plan))} individual calls; plan built in {plan_seconds * 1000:.0f} ms")  # fmt: skip

        warm_user, warm_token = account("warm-up")  # first requests load code; keep that out of the figures
        run(url, warm_token, build_session_plan(synthetic_log(started_at=START, events=50), source="w"), mode="individual")
        runs = []
        for _ in range(3):
            clean_user, clean_token = account("atomic")
            runs.append(run(url, clean_token, plan, mode="atomic"))
        median = sorted(runs, key=lambda r: r["seconds"])[1]
        report("atomic call (median of 3)", events, median)
        print("  the 3 runs: " + ", ".join(f"{r['seconds']:.2f} s" for r in runs))
        report("atomic call, second import", events, run(url, clean_token, plan, mode="atomic"))
        reference = hosted_snapshot(owner=clean_user)

        single_user, single_token = account("individual")
        report("individual calls", events, run(url, single_token, plan, mode="individual"))
        report("individual calls, second import", events, run(url, single_token, plan, mode="individual"))
        print(f"individual import equals atomic import: {hosted_snapshot(owner=single_user) == reference}")

        fault_plan = plan
        if args.fault_events != args.events:
            fault_plan = build_session_plan(synthetic_log(started_at=START, events=args.fault_events, seed=1), source="bench.json")
            clean_user, clean_token = account("fault-reference")
            run(url, clean_token, fault_plan, mode="atomic")
            reference = hosted_snapshot(owner=clean_user)
        fault_events = fault_plan.event_count
        # One atomic import is a handful of calls, so it runs ten times (ten seeds) to meet enough faults.
        equal, refused, dropped, seconds = 0, 0, 0, 0.0
        for seed in range(10):
            user, token = account("faulty-atomic")
            result = run(url, token, fault_plan, mode="atomic", failure_rate=args.failure_rate, seed=seed)
            equal += hosted_snapshot(owner=user) == reference
            refused, dropped = refused + result["stats"].refused, dropped + result["stats"].dropped
            seconds += result["seconds"]
        print(f"{'atomic, ' + format(args.failure_rate, '.0%') + ' failing, 10 imports':<34} {seconds / 10:8.2f} s  "
              f"{fault_events * 10 / seconds:9.0f} events/s  503s={refused} dropped-after-write={dropped}")  # fmt: skip
        print(f"  end state equals a clean import: {equal} of 10")
        user, token = account("faulty-individual")
        result = run(url, token, fault_plan, mode="individual", failure_rate=args.failure_rate, seed=42)
        report(f"individual, {args.failure_rate:.0%} of calls failing", fault_events, result)
        print(f"  end state equals a clean import: {hosted_snapshot(owner=user) == reference}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
