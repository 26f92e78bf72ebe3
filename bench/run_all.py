"""Run every benchmark in turn and print their output (figures go to docs/BENCHMARKS.md by hand).

    .venv/bin/python bench/run_all.py [--skip-quality] [--skip-memory] [--skip-aerial]

The aerial benches run small here (40 + 40 windows, two training seeds, 5 epochs); docs/BENCHMARKS.md
says which sizes its figures were measured at.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEED = ["bench_feature_cache.py", "bench_proposal_scoring.py", "bench_head_step.py", "bench_crf.py", "gui_stall.py",
         "reliability.py", "click_box_speed.py"]
AERIAL_WORK = "/tmp/dips_aerial_bench"
# real imagery (tree crowns, ../shared/data/aerial_trees.py), then the inspector replayed on that project and
# on the demo (train + val only): small sizes so that `make bench` stays within minutes on a laptop CPU
AERIAL = [["real_aerial.py", "--per-class", "40", "--seeds", "0,1", "--epochs", "5", "--work", AERIAL_WORK],
          ["box_drawing.py", f"{AERIAL_WORK}/subset_40/trees.dips", "--runs", "2", "--variants",
           "before,default,split0.15,rel0.25+mass+grabcut"],
          ["inspector_sim.py", f"{AERIAL_WORK}/subset_40/trees.dips", "--orders", "file,uncertain",
           "--retrain-every", "0,20", "--epochs", "5", "--work", f"{AERIAL_WORK}/sim"],
          ["inspector_sim.py", f"{AERIAL_WORK}/subset_40/trees.dips", "--orders", "file", "--gate",
           "--refit-every", "10", "--fit", "--work", f"{AERIAL_WORK}/sim_fit"],
          ["real_aerial.py", "--demo", "120", "--split", "trainval", "--seeds", "0", "--epochs", "5", "--work",
           AERIAL_WORK],
          ["inspector_sim.py", f"{AERIAL_WORK}/demo_120_0/demo.dips", "--splits", "train,val", "--orders",
           "file,uncertain", "--retrain-every", "0", "--work", f"{AERIAL_WORK}/sim_demo"],
          ["inspector_sim.py", f"{AERIAL_WORK}/demo_120_0/demo.dips", "--splits", "train,val", "--orders", "file",
           "--gate", "--refit-every", "10", "--fit", "--work", f"{AERIAL_WORK}/sim_demo_fit"],
          # one click, one box: every object clicked at (no suggestion looked at), each method and the app's choice
          ["inspector_sim.py", f"{AERIAL_WORK}/subset_40/trees.dips", "--orders", "file", "--look", "0",
           "--click-box", "auto,grabcut,square", "--work", f"{AERIAL_WORK}/sim_click"],
          ["inspector_sim.py", f"{AERIAL_WORK}/demo_120_0/demo.dips", "--splits", "train,val", "--orders", "file",
           "--look", "0", "--click-box", "auto,grabcut,square", "--work", f"{AERIAL_WORK}/sim_demo_click"]]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-aerial", action="store_true", help="skip the real-imagery and inspector benches")
    a = ap.parse_args()
    scripts = SPEED + ([] if a.skip_quality else ["quality.py", "head_quality.py", "proposal_defaults.py"]) \
        + ([] if a.skip_memory else ["bench_memory.py"])
    runs = [[name] for name in scripts] + ([] if a.skip_aerial else AERIAL)
    failed = 0
    for name, *args in runs:
        print(f"\n=== {name} {' '.join(args)}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / name), *args], cwd=HERE.parent).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
