"""Time from pointing an instrumented Celery app at a running Flowmeter to its workflow on
System Health (issue #13's measure), with default settings everywhere.

    python bench/recognition_latency.py      # needs Redis at 127.0.0.1:6379

Flowmeter (pipeline + OTLP/HTTP receiver, default FLOWMETER_BATCH_SECONDS, default profiles)
runs in this process on a temporary store. At t0 a Celery worker
(tests/collectors/automations/celery_invoices.py: opentelemetry-instrumentation-celery and
the OTLP exporter with its DEFAULT batch delay, nothing else) is started with
OTEL_EXPORTER_OTLP_ENDPOINT pointing here, and a client sends three invoice chains. The clock
stops when System Health's read (models.health.health_summary by workflow, what the page
calls) first lists the workflow with its three runs. The dashboard caches that read for
FLOWMETER_CACHE_TTL_SECONDS (30 s) at most, which a viewer may add on top.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

APP = "tests.collectors.automations.celery_invoices"


def main() -> None:
    from collectors.http_receiver import HttpReceiver
    from collectors.pipeline import Pipeline
    from models.db import Store
    from models.health import health_summary
    from models.migrations import migrate
    from models.settings import load_settings

    workdir = Path(tempfile.mkdtemp(prefix="recognition-latency-"))
    worker = None
    try:
        store = Store(f"chdb://{workdir / 'clickhouse'}", database="latency")
        migrate(store)
        settings = load_settings(env={}, data_dir=workdir / "data", otlp_http_port=0)
        pipeline = Pipeline(settings, store)
        pipeline.start()
        receiver = HttpReceiver(settings, pipeline, port=0)
        receiver.start()
        queue = f"flowmeter-latency-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "PYTHONPATH": str(REPO), "CELERY_QUEUE": queue,
               "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}"}  # fmt: skip
        env.pop("OTEL_BSP_SCHEDULE_DELAY", None)
        celery = str(Path(sys.executable).parent / "celery")
        t0 = time.perf_counter()
        worker = subprocess.Popen(
            [celery, "-A", APP, "worker", "-P", "solo", "-Q", queue, "-l", "WARNING",
             "--without-heartbeat", "--without-mingle", "--without-gossip"],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run([sys.executable, "-m", APP, "inv-1,inv-2,flaky-3", "ref-1"], env=env,
                       cwd=REPO, check=True, timeout=120)  # fmt: skip
        sent = time.perf_counter() - t0
        since = datetime.now(UTC) - timedelta(hours=1)
        while True:
            frame = health_summary(store, since, datetime.now(UTC) + timedelta(minutes=1))
            rows = frame[frame["key"] == "invoices.validate"]
            if not rows.empty and int(rows.iloc[0]["spans"]) == 3:
                break
            if time.perf_counter() - t0 > 300:
                raise SystemExit("the workflow did not show up within 300 s")
            time.sleep(0.25)  # polling a read, as a viewer refreshing the page would
        shown = time.perf_counter() - t0
        print(f"worker started and 4 chains sent and settled after {sent:.1f} s")
        print(f"'invoices.validate' with its 3 runs on System Health's read after {shown:.1f} s "
              f"(FLOWMETER_BATCH_SECONDS={settings.batch_seconds}, OTel batch delay default 5 s; "
              f"the page may add its {settings.cache_ttl_seconds} s cache)")  # fmt: skip
        receiver.stop(2)
        pipeline.stop(5)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
