"""A real Prometheus for the tests: Debian's `prometheus` 2.42 on 127.0.0.1, history backfilled.

`start_prometheus` writes six hours of OpenMetrics for a few made-up services, turns them into
TSDB blocks with `promtool tsdb create-blocks-from openmetrics`, and starts `prometheus` on a free
loopback port with its own data folder, scraping a local exporter (prometheus-client, in this
process) every second for one live series. It waits for /-/ready and returns a handle whose
`stop()` ends the server. scripts/deps/20-servers.sh unpacks Debian's package into the cache
(~/.cache/gooseterm/debs, linked from ~/.cache/gooseterm/bin); tests/helpers/deps.py finds it.

The series (goose_latency_p99_ms and goose_error_ratio, by `service`):
- fast:    latency ~200, errors 0.001     passes `<= 600`
- warm:    latency ~700, errors 0.001     misses pass `<= 600`, meets warning `<= 800`
- slow:    latency ~1200, errors 0.05     fails both
- regress: latency 400, then 480 for the last hour (+20%): passes `<= 600`, fails `<= +10%`
- nan:     latency NaN
- dup:     two latency series (instances a and b): a query that does not aggregate is ambiguous
"""

from __future__ import annotations

import math
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from helpers.deps import binary
from prometheus_client import CollectorRegistry, Gauge, start_http_server

HISTORY = timedelta(hours=6)
STEP = 60  # seconds between backfilled samples
BASIC_USER, BASIC_PASSWORD = "gooseterm", "s3cret"
# bcrypt of BASIC_PASSWORD (cost 4, the minimum: this is a test server), as Prometheus' web
# config wants it (https://prometheus.io/docs/prometheus/latest/configuration/https/).
BASIC_HASH = "$2b$04$jE/NBokqqfgQo4yd.BZd1.sg06aoTrrov3nrh1tygck1B6qluB3Za"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latency(service: str, ts: int, end: int) -> float:
    """The backfilled p99 latency of a service at unix time ts."""
    wobble = 10 * math.sin(ts / 900)
    if service == "fast":
        return 200 + wobble
    if service == "warm":
        return 700 + wobble
    if service == "slow":
        return 1200 + wobble
    if service == "regress":
        return 400.0 if ts < end - 3600 else 480.0
    return math.nan


def openmetrics(end: datetime) -> str:
    """Six hours of history ending at `end`, in OpenMetrics text (ending in # EOF)."""
    stop = int(end.timestamp())
    start = stop - int(HISTORY.total_seconds())
    stamps = range(start - start % STEP, stop + 1, STEP)
    lines = ["# HELP goose_latency_p99_ms p99 request latency in milliseconds (backfilled)",
             "# TYPE goose_latency_p99_ms gauge"]
    for service in ("fast", "warm", "slow", "regress", "nan"):
        for ts in stamps:
            value = latency(service, ts, stop)
            text = "NaN" if math.isnan(value) else f"{value:.3f}"
            lines.append(f'goose_latency_p99_ms{{service="{service}"}} {text} {ts}')
    for instance in ("a", "b"):
        lines += [f'goose_latency_p99_ms{{service="dup",instance="{instance}"}} 300 {ts}' for ts in stamps]
    lines += ["# HELP goose_error_ratio share of failed requests (backfilled)", "# TYPE goose_error_ratio gauge"]
    for service in ("fast", "warm", "slow", "regress", "nan"):
        ratio = 0.05 if service == "slow" else 0.001
        lines += [f'goose_error_ratio{{service="{service}"}} {ratio} {ts}' for ts in stamps]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@dataclass
class PrometheusServer:
    """A running test Prometheus."""

    url: str
    end: datetime
    """The time of the last backfilled sample: query history at (or before) it."""
    process: subprocess.Popen
    folder: Path
    exporter: object
    live: Gauge

    def stop(self) -> None:
        """Stop the server (and the exporter) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.exporter.shutdown()


def _wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1, auth=(BASIC_USER, BASIC_PASSWORD)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"prometheus not ready within {timeout}s:\n{log.read_text()[-2000:]}")


def start_prometheus(folder: Path, *, basic_auth: bool = False, backfill: bool = True) -> PrometheusServer:
    """Backfill history, start the server on a free loopback port, and wait until it is ready."""
    prometheus, promtool = binary("prometheus"), binary("promtool")
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    if backfill:
        source = folder / "history.om"
        source.write_text(openmetrics(end))
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
                       check=True, capture_output=True, timeout=120)
    registry = CollectorRegistry()
    live = Gauge("goose_live_latency_ms", "a live series scraped from a local exporter", ["service"], registry=registry)
    live.labels("live").set(123.0)
    exporter_port = free_port()
    exporter, _ = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: exporter\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter_port}']\n")
    port = free_port()
    args = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=15d"]
    if basic_auth:
        web = folder / "web.yml"
        web.write_text(f"basic_auth_users:\n  {BASIC_USER}: {BASIC_HASH}\n")
        args.append(f"--web.config.file={web}")
    log = folder / "prometheus.log"
    with open(log, "w") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    server = PrometheusServer(url, end, process, folder, exporter, live)
    try:
        _wait_ready(url, process, log)
    except BaseException:
        server.stop()
        raise
    return server
