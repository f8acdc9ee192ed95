"""Model load times: ``import minicoil``, the one-time ONNX build, and loads after caching.

Every number comes from a fresh Python process (what a user's command pays):

  import      ``import minicoil`` (no torch: the package exports lazily)
  build       first ``load_model(name)`` with an empty cache: torch trace + int8 quantization
  cached      ``load_model(name)`` when the graph is cached (content hash + session start)
  per backend load + the first query vector, for onnx-int8 / onnx / torch

    python benchmarks/bench_load.py --model minicoil-en --repeat 3 \\
        --json benchmarks/results-load.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import minicoil
t_import = time.perf_counter()
from minicoil.export.runtime import load_model
model = load_model(sys.argv[1], backend=sys.argv[2], cache_dir=sys.argv[3])
t_load = time.perf_counter()
next(model.encode_query("what does a river bank look like?"))
t_query = time.perf_counter()
print(json.dumps({"import_s": t_import - t0, "load_s": t_load - t_import,
                  "first_query_s": t_query - t_load, "total_s": t_query - t0}))
"""


def child(model: str, backend: str, cache: Path) -> dict[str, float]:
    """One fresh process: import, load, first query vector; its own timings."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, model, backend, str(cache)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed ({backend}): {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def import_only() -> float:
    """Seconds for ``import minicoil`` in a fresh process, and whether torch came along."""
    code = (
        "import time, sys; t = time.perf_counter(); import minicoil; "
        "print(time.perf_counter() - t, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, torch_loaded = out.stdout.split()
    if torch_loaded != "False":
        raise SystemExit("import minicoil imported torch")
    return float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="minicoil-en", help="model name or folder")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per timing")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "model": args.model,
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "load_average_at_start": round(os.getloadavg()[0], 1),  # a shared machine is noisy
    }
    results["import_s"] = statistics.median(import_only() for _ in range(args.repeat))
    print(f"import minicoil: {results['import_s']:.3f} s (no torch)")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        build = child(args.model, "onnx-int8", cache)
        results["build"] = build
        print(f"first onnx-int8 load (builds the cache): {build['load_s']:.1f} s")
        for backend in ("onnx-int8", "onnx", "torch"):
            runs = [child(args.model, backend, cache) for _ in range(args.repeat)]
            summary = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            results[backend] = summary
            print(
                f"{backend:>9}: load {summary['load_s']:.2f} s, first query "
                f"{summary['first_query_s']:.2f} s, process total {summary['total_s']:.2f} s"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
