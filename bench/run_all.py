"""Run every benchmark in turn and print their output (figures go to docs/BENCHMARKS.md by hand).

    .venv/bin/python bench/run_all.py [--skip-quality] [--skip-memory]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEED = ["bench_feature_cache.py", "bench_proposal_scoring.py", "bench_head_step.py", "bench_crf.py", "gui_stall.py",
         "reliability.py"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    a = ap.parse_args()
    scripts = SPEED + ([] if a.skip_quality else ["quality.py", "head_quality.py", "proposal_defaults.py"]) \
        + ([] if a.skip_memory else ["bench_memory.py"])
    failed = 0
    for name in scripts:
        print(f"\n=== {name}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / name)], cwd=HERE.parent).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
