"""`make bench`: load, latency and memory of the whole stack beside stock `rasa init`.

Starts Lantern (Rasa server, action server, delivery worker, SQLite tracker store and
application database) and then the stock `rasa init` assistant (trained once and cached
under bench/.cache), drives each with the same Locust visitors at 1, 10, 20 and 50
concurrent users, samples the resident memory of every server process, and prints the
two side by side. Writes CSVs, summary.md and latency.png under bench/results/.

`--cluster` measures the production layout instead (bot/cluster.py): nginx in front of one
Rasa server, then of two, both on PostgreSQL and Redis, beside stock `rasa init`, with the
machine's CPU use at each level, so the table shows where the cores run out. It writes
bench/results/cluster.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional, Sequence

import psutil
import requests

from bot.evaluation.stack import PROJECT_HOME, free_port, running_stack
from bot.rasa_integration.training import train_if_changed
from bot.settings import load_settings

BENCH_DIR = PROJECT_HOME / "bench"
RESULTS = BENCH_DIR / "results"
STOCK_DIR = BENCH_DIR / ".cache" / "stock-rasa-init"
LOCUSTFILE = BENCH_DIR / "locustfile.py"


@dataclass
class LevelResult:
    users: int
    messages_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int
    peak_rss_mb: dict[str, float]
    cpu_percent: float = 0.0  # the whole machine's CPU use during the level


class MemorySampler:
    """Peak resident memory of named processes (with their children), sampled in a thread."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        self.pids, self.interval = pids, interval
        self.peak = {name: 0.0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss_mb(self, pid: int) -> float:
        try:
            process = psutil.Process(pid)
            return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20
        except psutil.Error:
            return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], self._rss_mb(pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run_level(host: str, users: int, seconds: int, out_prefix: Path, pids: dict[str, int]) -> LevelResult:
    psutil.cpu_percent(interval=None)  # starts the measurement
    with MemorySampler(pids) as sampler:
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
             "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host,
             "--csv", str(out_prefix), "--stop-timeout", "30", "--exit-code-on-error", "0"],
            cwd=PROJECT_HOME, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    with open(f"{out_prefix}_stats.csv", newline="") as handle:
        total = next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
    return LevelResult(
        users=users,
        messages_per_second=float(total["Requests/s"]),
        p50_ms=float(total["50%"]),
        p95_ms=float(total["95%"]),
        p99_ms=float(total["99%"]),
        requests=int(total["Request Count"]),
        errors=int(total["Failure Count"]),
        peak_rss_mb=dict(sampler.peak),
        cpu_percent=psutil.cpu_percent(interval=None),
    )


def stock_model() -> Path:
    """The stock `rasa init` assistant, trained once with this Rasa version."""
    models = STOCK_DIR / "models"
    found = sorted(models.glob("*.tar.gz")) if models.exists() else []
    if found:
        return found[-1]
    shutil.rmtree(STOCK_DIR, ignore_errors=True)
    STOCK_DIR.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(STOCK_DIR)],
                   cwd=STOCK_DIR, check=True, stdout=subprocess.DEVNULL)
    return sorted(models.glob("*.tar.gz"))[-1]


@contextmanager
def running_stock() -> Iterator[tuple[str, dict[str, int]]]:
    model = stock_model()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa", "run", "--model", str(model), "--port", str(port), "-i", "127.0.0.1",
         "--credentials", str(STOCK_DIR / "credentials.yml")],
        cwd=STOCK_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # loading TensorFlow on a busy machine takes minutes
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the stock rasa init server exited during start-up")
            try:
                if requests.get(f"{url}/", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(1)
        yield url, {"rasa server": process.pid}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def warm_up(host: str) -> None:
    for message in ("hi", "our emails go to spam", "skip"):
        requests.post(f"{host}/webhooks/rest/webhook", json={"sender": "warm-up", "message": message}, timeout=60)


def fmt_row(name: str, r: LevelResult) -> str:
    memory = ", ".join(f"{k} {v:.0f} MB" for k, v in r.peak_rss_mb.items())
    return (f"| {name} | {r.users} | {r.messages_per_second:.1f} | {r.p50_ms:.0f} | {r.p95_ms:.0f} | "
            f"{r.p99_ms:.0f} | {r.errors}/{r.requests} | {memory} |")


def write_report(lantern: list[LevelResult], stock: list[LevelResult], seconds: int) -> str:
    lines = [
        f"# Benchmark {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"{os.cpu_count()} cores; {seconds} s per level after a warm-up; Locust, no think time; REST channel.",
        "",
        "| stack | users | msg/s | p50 ms | p95 ms | p99 ms | errors/requests | peak resident memory |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for ours, theirs in zip(lantern, stock, strict=True):
        lines += [fmt_row("Lantern", ours), fmt_row("stock rasa init", theirs)]
    lines += ["", "| users | msg/s ratio (Lantern / stock) | p95 ratio |", "| --- | --- | --- |"]
    for ours, theirs in zip(lantern, stock, strict=True):
        lines.append(f"| {ours.users} | {ours.messages_per_second / max(theirs.messages_per_second, 1e-9):.2f}x "
                     f"| {ours.p95_ms / max(theirs.p95_ms, 1e-9):.2f}x |")
    lines += ["", "![latency vs load](latency.png)", ""]
    return "\n".join(lines)


def plot(lantern: list[LevelResult], stock: list[LevelResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for name, results in (("Lantern", lantern), ("stock rasa init", stock)):
        users = [r.users for r in results]
        axis.plot(users, [r.p50_ms for r in results], marker="o", label=f"{name} p50")
        axis.plot(users, [r.p95_ms for r in results], marker="o", linestyle="--", label=f"{name} p95")
    axis.set_xlabel("concurrent visitors")
    axis.set_ylabel("latency (ms)")
    axis.set_title("Latency vs load (REST channel)")
    axis.legend()
    axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def fmt_cluster_row(name: str, r: LevelResult) -> str:
    memory = sum(r.peak_rss_mb.values())
    return (f"| {name} | {r.users} | {r.messages_per_second:.1f} | {r.p50_ms:.0f} | {r.p95_ms:.0f} | "
            f"{r.p99_ms:.0f} | {r.errors}/{r.requests} | {r.cpu_percent:.0f} % | {memory:.0f} MB |")


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    admin_url = load_settings(home=PROJECT_HOME).test_postgres_url
    name = f"lantern_bench_{os.getpid()}_{int(time.time())}"
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        from bot.db import dispose_engines

        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_cluster(levels: list[int], seconds: int, redis_url: str, stacks: Sequence[str] = ("1", "2", "stock")) -> int:
    from bot.evaluation.cluster_stack import running_cluster

    results: dict[str, list[LevelResult]] = {}
    for servers in [int(n) for n in stacks if n.isdigit()]:
        name = f"Lantern, {servers} Rasa server{'s' if servers > 1 else ''}"
        results[name] = []
        with tempfile.TemporaryDirectory() as tmp, throwaway_postgres() as db_url, running_cluster(
            Path(tmp), db_url, redis_url, servers=servers, with_worker=True
        ) as cluster:
            pids = {n: p.pid for n, p in cluster.by_name.items()}
            warm_up(cluster.settings.rasa_url)
            for users in levels:
                prefix = RESULTS / f"cluster{servers}_{users}"
                results[name].append(run_level(cluster.settings.rasa_url, users, seconds, prefix, pids))
                print(fmt_cluster_row(name, results[name][-1]), flush=True)
    if "stock" in stacks:
        results["stock rasa init"] = []
        with running_stock() as (url, pids):
            warm_up(url)
            for users in levels:
                results["stock rasa init"].append(run_level(url, users, seconds, RESULTS / f"stock_{users}", pids))
                print(fmt_cluster_row("stock rasa init", results["stock rasa init"][-1]), flush=True)
    lines = [
        f"# Cluster benchmark {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"{os.cpu_count()} cores; {seconds} s per level after a warm-up; Locust, no think time; REST channel "
        "through nginx (no conversation header, so requests spread over the servers); PostgreSQL tracker "
        "store and application database, Redis lock store; one action server, the delivery worker.",
        "Stock `rasa init`: one `rasa run`, in-memory stores, no nginx. CPU is the whole machine's "
        "(Locust and the other engineers' work included); memory is the sum of the cluster's processes.",
        "",
        "| stack | users | msg/s | p50 ms | p95 ms | p99 ms | errors/requests | CPU | peak memory |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index in range(len(levels)):
        for name, rows in results.items():
            lines.append(fmt_cluster_row(name, rows[index]))
    one, two = results.get("Lantern, 1 Rasa server"), results.get("Lantern, 2 Rasa servers")
    if one and two:
        lines += ["", "| users | msg/s, 2 servers / 1 | p95, 2 servers / 1 |", "| --- | --- | --- |"]
        for a, b in zip(one, two, strict=True):
            lines.append(f"| {a.users} | {b.messages_per_second / max(a.messages_per_second, 1e-9):.2f}x "
                         f"| {b.p95_ms / max(a.p95_ms, 1e-9):.2f}x |")
    report = "\n".join(lines) + "\n"
    (RESULTS / "cluster.md").write_text(report)
    print("\n" + report)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 and 10 users, 15 s each: a smoke check")
    parser.add_argument("--cluster", action="store_true",
                        help="nginx + 1 Rasa server against nginx + 2, on PostgreSQL and Redis, beside stock rasa init")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="Redis for --cluster")
    parser.add_argument("--stacks", default="1,2,stock", help="--cluster: which of 1, 2 (Rasa servers) and stock to run")
    args = parser.parse_args(argv)
    if args.cluster:
        RESULTS.mkdir(parents=True, exist_ok=True)
        train_if_changed(load_settings(home=PROJECT_HOME))
        levels, seconds = ([10], 15) if args.quick else ([1, 20, 50], 30)
        return bench_cluster(levels, seconds, args.redis_url, args.stacks.split(","))
    levels, seconds = ([1, 10], 15) if args.quick else ([1, 10, 20, 50], 60)
    RESULTS.mkdir(parents=True, exist_ok=True)
    train_if_changed(load_settings(home=PROJECT_HOME))

    lantern: list[LevelResult] = []
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), with_worker=True) as stack:
        pids = {name: pid for name, pid in stack.pids.items()}
        warm_up(stack.settings.rasa_url)
        for users in levels:
            lantern.append(run_level(stack.settings.rasa_url, users, seconds, RESULTS / f"lantern_{users}", pids))
            print(fmt_row("Lantern", lantern[-1]), flush=True)
    stock: list[LevelResult] = []
    with running_stock() as (url, pids):
        warm_up(url)
        for users in levels:
            stock.append(run_level(url, users, seconds, RESULTS / f"stock_{users}", pids))
            print(fmt_row("stock rasa init", stock[-1]), flush=True)

    plot(lantern, stock, RESULTS / "latency.png")
    report = write_report(lantern, stock, seconds)
    (RESULTS / "summary.md").write_text(report)
    print("\n" + report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
