"""Load check of ``minicoil serve``: ``/search`` latency p50/p95 and errors under 1, 4 and 16
concurrent clients, on a real collection (SciFact) over real HTTP.

The server runs in its own process, exactly as ``minicoil serve`` runs it (model loaded once,
uvicorn, one worker), with the rate limit off; the clients are threads of this process, each
sending the next query as soon as its previous answer arrived (closed loop), cycling through
the BEIR test queries. Errors count every non-200 answer and every failed connection.

    minicoil index --data ../shared/data/beir/scifact --collection scifact --path /tmp/store
    python benchmarks/bench_serve.py --collection scifact --path /tmp/store \\
        --queries ../shared/data/beir/scifact/queries.jsonl --json results-serve.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from minicoil.io import atomic_file

SERVER = """
import sys
from minicoil.serve import Limits, serve
collection, path, port, model, backend = sys.argv[1:6]
serve(collection, path=path or None, port=int(port), model=model or None, backend=backend,
      limits=Limits(rate=0), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_queries(path: Path, limit: int) -> list[str]:
    queries = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                queries.append(str(json.loads(line)["text"]))
    return queries[:limit]


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", SERVER, args.collection, str(args.path or ""), str(port)]
    command += [str(args.model or ""), args.backend]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + args.start_timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"the server did not answer /health within {args.start_timeout} s")


def load(
    base: str, queries: list[str], clients: int, requests: int, k: int, mode: str
) -> dict[str, Any]:
    """``requests`` searches over ``clients`` concurrent closed-loop clients."""
    latencies: list[float] = []
    errors = 0

    def one(i: int, http: httpx.Client) -> tuple[float, bool]:
        params = {"q": queries[i % len(queries)], "k": k, "mode": mode}
        start = time.perf_counter()
        try:
            ok = http.get(f"{base}/search", params=params).status_code == 200
        except httpx.HTTPError:
            ok = False
        return time.perf_counter() - start, ok

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    stop = threading.Event()
    health: list[float] = []
    probe = threading.Thread(target=probe_health, args=(base, stop, health), daemon=True)
    with httpx.Client(timeout=120, limits=limits) as http:
        start = time.perf_counter()
        probe.start()
        with ThreadPoolExecutor(clients) as pool:
            for seconds, ok in pool.map(lambda i: one(i, http), range(requests)):
                latencies.append(seconds * 1000)
                errors += not ok
        wall = time.perf_counter() - start
        stop.set()
        probe.join()
    ms = np.asarray(latencies)
    return {
        "clients": clients,
        "requests": requests,
        "errors": errors,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
        "throughput_rps": requests / wall,
        "health_p50_ms": float(np.percentile(health, 50)) if health else None,
    }


def probe_health(base: str, stop: threading.Event, out: list[float]) -> None:
    """``/health`` latencies every 0.2 s while searches run: with the forward passes on
    worker threads, the event loop keeps answering at once."""
    with httpx.Client(timeout=120) as http:
        while not stop.wait(0.2):
            start = time.perf_counter()
            http.get(f"{base}/health")
            out.append((time.perf_counter() - start) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collection", default="scifact")
    parser.add_argument("--path", type=Path, default=None, help="Store folder (default: user's).")
    parser.add_argument("--model", type=Path, default=None, help="Default: the shipped model.")
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("--queries", type=Path, required=True, help="BEIR queries.jsonl.")
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=200, help="Requests per concurrency level.")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--start-timeout", type=float, default=300)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()

    queries = read_queries(args.queries, 10_000)
    port = free_port()
    server = start_server(args, port)
    base = f"http://127.0.0.1:{port}"
    try:
        load(base, queries[::-1], 1, args.warmup, args.k, args.mode)
        rows = [load(base, queries, c, args.requests, args.k, args.mode) for c in args.clients]
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"/search mode={args.mode} k={args.k} backend={args.backend}, {args.requests} requests")
    header = ["clients", "p50 ms", "p95 ms", "max ms", "req/s", "errors", "/health p50 ms"]
    print(" ".join(f"{h:>8}" for h in header))
    for r in rows:
        health = r["health_p50_ms"] or float("nan")  # nan: the level ended before a probe
        print(
            f"{r['clients']:>8} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} "
            f"{r['throughput_rps']:>8.1f} {r['errors']:>8} {health:>8.1f}"
        )
    if args.json:
        record = {
            "mode": args.mode,
            "k": args.k,
            "backend": args.backend,
            "collection": args.collection,
            "cpus": os.cpu_count(),
            "machine": platform.processor() or platform.machine(),
            "results": rows,
        }
        with atomic_file(args.json, "w") as handle:
            handle.write(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
