"""Run every benchmark in turn and print their output (figures go to docs/BENCHMARKS.md by hand).

    .venv/bin/python bench/run_all.py [--skip-quality] [--skip-memory] [--skip-aerial] [--data-script PATH]

The aerial benches run small here (40 + 40 windows, two training seeds, 5 epochs); docs/BENCHMARKS.md
says which sizes its figures were measured at. The tree-crown set is built by ``../shared/data/aerial_trees.py``
(beside the repository; ``--data-script`` elsewhere): without it and without a set built earlier, the benches on
it are skipped with a message naming the file, the others run, and the exit status is 1.
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
TREES_PROJECT = f"{AERIAL_WORK}/subset_40/trees.dips"
TREES_SET = f"{AERIAL_WORK}/src"   # the whole set as aerial_trees.py built it (images/, gt.json)
DATA_SCRIPT = HERE.parent.parent / "shared" / "data" / "aerial_trees.py"   # as bench/real_aerial.py finds it
# real imagery (tree crowns, ../shared/data/aerial_trees.py), then the inspector replayed on that project and
# on the demo (train + val only): small sizes so that `make bench` stays within minutes on a laptop CPU
AERIAL = [["real_aerial.py", "--per-class", "40", "--seeds", "0,1", "--epochs", "5", "--work", AERIAL_WORK],
          ["box_drawing.py", f"{AERIAL_WORK}/subset_40/trees.dips", "--runs", "2", "--variants",
           "before,default,split0.15,rel0.25+mass+grabcut"],
          # issue 14's ceilings: perfect maps from the ground truth through the product's scoring and drawing (seconds)
          ["ceilings.py", TREES_PROJECT],
          # issue 14, sixth pass: crowns the windows show but the ground truth leaves out (seconds), and what the
          # head learns from the ground truth and from its pseudo labels, step by step (minutes)
          ["gt_completeness.py", TREES_SET],
          ["head_fit.py", TREES_PROJECT, "--steps", "160", "--eval-every", "80"],
          ["head_fit.py", TREES_PROJECT, "--labels", "weak", "--steps", "160", "--eval-every", "80"],
          # seventh pass: the workshop U-Net on the RGB fits the ground truth far better than the token decoder
          ["head_fit.py", TREES_PROJECT, "--head", "unet", "--crf", "0", "--steps", "160", "--eval-every", "80"],
          ["inspector_sim.py", f"{AERIAL_WORK}/subset_40/trees.dips", "--orders", "file,uncertain",
           "--retrain-every", "0,20", "--epochs", "5", "--work", f"{AERIAL_WORK}/sim"],
          ["inspector_sim.py", f"{AERIAL_WORK}/subset_40/trees.dips", "--orders", "file", "--gate",
           "--refit-every", "10", "--fit", "--work", f"{AERIAL_WORK}/sim_fit"],
          ["real_aerial.py", "--demo", "120", "--split", "trainval", "--seeds", "0", "--epochs", "5", "--work",
           AERIAL_WORK],
          ["ceilings.py", f"{AERIAL_WORK}/demo_120_0/demo.dips", "--splits", "train,val"],
          ["inspector_sim.py", f"{AERIAL_WORK}/demo_120_0/demo.dips", "--splits", "train,val", "--orders",
           "file,uncertain", "--retrain-every", "0", "--work", f"{AERIAL_WORK}/sim_demo"],
          ["inspector_sim.py", f"{AERIAL_WORK}/demo_120_0/demo.dips", "--splits", "train,val", "--orders", "file",
           "--gate", "--refit-every", "10", "--fit", "--work", f"{AERIAL_WORK}/sim_demo_fit"],
          # one click, one box: every object clicked at (no suggestion looked at), each method and the app's choice
          ["inspector_sim.py", f"{AERIAL_WORK}/subset_40/trees.dips", "--orders", "file", "--look", "0",
           "--click-box", "auto,grabcut,square", "--work", f"{AERIAL_WORK}/sim_click"],
          ["inspector_sim.py", f"{AERIAL_WORK}/demo_120_0/demo.dips", "--splits", "train,val", "--orders", "file",
           "--look", "0", "--click-box", "auto,grabcut,square", "--work", f"{AERIAL_WORK}/sim_demo_click"]]


def needs_trees(run: list[str]) -> bool:
    """Whether a bench runs on the tree-crown set (built by aerial_trees.py), not on the demo."""
    name, *args = run
    return (name == "real_aerial.py" and "--demo" not in args) or TREES_PROJECT in args or TREES_SET in args


def missing_trees_data(script: Path) -> str | None:
    """Why the tree-crown benches cannot run (the builder script is not there and no set was built before), or
    None."""
    if (Path(AERIAL_WORK) / "src" / "gt.json").is_file() or script.is_file():
        return None
    return (f"{script}: not found. The tree-crown benches need it to build the real aerial set (it fetches the "
            "deepforest 2.1.0 wheel once with pip and cuts windows from its NEON sample tiles). Put aerial_trees.py "
            f"from the project's shared data folder at {script}, or give its path with --data-script PATH; "
            "--skip-aerial leaves these benches out.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-aerial", action="store_true", help="skip the real-imagery and inspector benches")
    ap.add_argument("--data-script", type=Path, default=DATA_SCRIPT,
                    help=f"the builder of the tree-crown set (default {DATA_SCRIPT})")
    a = ap.parse_args(argv)
    scripts = SPEED + ([] if a.skip_quality else ["quality.py", "head_quality.py", "proposal_defaults.py"]) \
        + ([] if a.skip_memory else ["bench_memory.py"])
    aerial = [] if a.skip_aerial else [[*run, "--data-script", str(a.data_script)]
                                       if run[0] in ("real_aerial.py", "gt_completeness.py") and needs_trees(run)
                                       else run for run in AERIAL]
    missing = missing_trees_data(a.data_script) if any(needs_trees(r) for r in aerial) else None
    runs = [[name] for name in scripts] + aerial
    failed, skipped = 0, []
    for name, *args in runs:
        print(f"\n=== {name} {' '.join(args)}", flush=True)
        if missing and needs_trees([name, *args]):
            print(f"skipped: {missing}", flush=True)
            skipped.append(name)
            continue
        failed += subprocess.run([sys.executable, str(HERE / name), *args], cwd=HERE.parent).returncode != 0
    if skipped:     # said again at the end, where a long log is read
        print(f"\nerror: {len(skipped)} benches skipped: {missing}", file=sys.stderr)
    return 1 if failed or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
