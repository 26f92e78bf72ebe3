"""Peak memory (RSS) of a full `run` on a large project.

Run from the repository root:
    .venv/bin/python bench/bench_memory.py [--n 1000] [--epochs 1] [--work /tmp/dips_memory]

Creates the demo data at that size, then runs `python main.py run` in a child process and
reads the child's peak RSS (ru_maxrss) when it ends. Epochs do not change the peak (the
cache is read memory-mapped), so one epoch keeps the benchmark short.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.pipeline.demo import ensure_demo_project  # noqa: E402
from core.progress import Progress, TextProgressBar  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--work", default="/tmp/dips_memory")
    a = ap.parse_args()
    path = ensure_demo_project(Path(a.work) / f"demo_{a.n}", n_images=a.n, progress=Progress(TextProgressBar()))
    t0 = time.time()
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", str(path), "--epochs", str(a.epochs)],
                          cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2  # KiB on Linux
    print(f"run on {a.n} images ({a.epochs} epoch): exit {proc.returncode}, {(time.time() - t0) / 60:.1f} min, "
          f"peak RSS {peak_gb:.2f} GB (target < 4 GB: {'ok' if peak_gb < 4 else 'OVER'})")


if __name__ == "__main__":
    main()
