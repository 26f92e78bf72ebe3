"""Map quality of the model a simulated review retrained: MaxBoxAccV2 and box accuracy at the operating threshold.

Run from the repository root on the project copies ``bench/inspector_sim.py --retrain-every N --work W`` leaves
(``W/<order>_<N>/<project>.dips``):
    .venv/bin/python bench/retrained_maps.py W1/file_36/trees.dips W2/file_36/trees.dips ...

Each copy's latest prediction run was made after its last retraining, on the images not yet reviewed then (the
same images in every session of the same order and cadence), so two sessions that differ in one training change
compare paired on those images. Ground truth is read only here, to score; it never trained anything.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    from core.pipeline.evaluate_stage import evaluate
    from core.store.project import Project
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("projects", nargs="+")
    a = ap.parse_args()
    print("copy | run | images | MaxBoxAccV2 | op @30 / @50 / @70 | threshold | localizer images")
    for path in a.projects:
        with Project.open(path) as project:
            run_id = project.maps.latest_run_id()
            r = evaluate(project, "all", "predicted", prediction_run=run_id)
            op = r.get("BoxAccV2AtOperatingThreshold", {})
            train_run = project.runs.list()[-1]
            m = train_run.metrics or {}
            print(f"{path} | {run_id} | {r['n_images']} | {r['MaxBoxAccV2']:.1f} | "
                  + " / ".join(f"{op.get(k, float('nan')):.1f}" for k in ("30", "50", "70"))
                  + f" | {r['operating_threshold']} | {m.get('n_train')}")


if __name__ == "__main__":
    main()
