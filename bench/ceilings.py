"""Ceilings: how far this method can get at best on a project with ground truth (issue 14's targets), whatever
the head learns: perfect maps drawn from the ground truth, scored and boxed as the product does, and the
inspector's floor.

Run from the repository root (nice it on a shared machine):
    .venv/bin/python bench/ceilings.py PROJECT [--splits train,val] [--split-touching 0.15]
    .venv/bin/python bench/ceilings.py PROJECT --oracle OUT [--seeds 0,1]   # trains: 5-20 min a seed

1. Map-to-box ceiling (no training, seconds). For every object image of the splits, a "perfect semantic map" is
   drawn from its ground-truth boxes on the prediction grid (224 x 224 stretched over the image, as the prediction
   run stores its foreground maps): ``union`` = 1 inside any crown box, 0 outside (every "tree pixel" found, no
   instances); ``ellipse`` = each box filled with a Gaussian that is 1 at its centre and 0.5 on the box's
   inscribed ellipse, the maximum where boxes overlap (so touching crowns keep a valley between them: an
   instance-aware map that is still soft). Each map is scored as the product scores a prediction run: MaxBoxAccV2
   and box accuracy at the operating threshold 0.5 (``core.pipeline.evaluate``'s call of ``evaluate_maps``,
   multi-contour boxes, 224 grid), and its boxes are drawn by the prediction run's drawing
   (``core.pipeline.predict_stage.boxes_for_map``: the app's ``BoxDrawConfig``, with and without
   ``split_touching``). Of the drawn boxes: box accuracy of all of them (best pair) and of the top-1 box alone at
   IoU 50 / 70, precision / recall at IoU 0.5, boxes per image, and the inspector replay of
   ``bench/inspector_sim.py`` (look at the top suggestion, or at every box) as a ratio to drawing every box.
   It also counts the crowns that touch or overlap another one (the reason a union map cannot give one box each).

2. The inspector floor (arithmetic, always printed). With the replay's costs (verify / accept / reject 1.6 s,
   adjust 5.1 s, extreme click 7.0 s, centre click 1.9 s), the ratio to extreme clicking is
   ``r = (1.6 a + 1.6 rho + c (1 - a)) / 7.0``: ``a`` the share of objects whose suggestion is accepted,
   ``rho`` the wrong suggestions looked at per object, ``c`` the mean cost of boxing an object no suggestion
   covers (click box kept: 1.9 + 1.6 = 3.5 s, the click flow's floor; the measured kept / adjusted / redrawn
   mix; or 7.0 s by extreme clicking). Solved for ``a`` at r = 0.5 and 0.35.

3. ``--oracle OUT`` (trains): the fully supervised localizer. Copies PROJECT's folder to OUT/oracle and
   OUT/default (PROJECT is never written), imports the TRAIN split's ground truth as curated boxes into the
   oracle copy (``main.py import-coco --as curated``; the app's default curated_weight 4 makes every pixel
   inside them foreground), trains both copies with the app's defaults per seed and scores the held-out
   val + test object images (``bench/real_aerial.py --split valtest``), then replays the inspector on val + test
   of each (``bench/inspector_sim.py --splits val,test``, no retraining). A step whose output file exists in OUT
   is not run again.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.inspector_sim import Costs, replay_image
from bench.real_aerial import ground_truth, records_of
from core.dips.boxes import box_iou
from core.eval import EvalConfig, evaluate_maps
from core.eval.detection import precision_recall
from core.eval.operating import box_acc_for_boxes
from core.pipeline.predict_stage import OPERATING_THRESHOLD, boxes_for_map
from core.settings import BoxDrawConfig
from core.store.project import Project

REPO = Path(__file__).resolve().parents[1]
GRID = 224          # side of the prediction run's foreground maps (TrainConfig.train_res)
KINDS = ("union", "ellipse")


def perfect_map(boxes: np.ndarray, width: int, height: int, kind: str, grid: int = GRID) -> np.ndarray:
    """A ``[grid, grid]`` float32 map in [0, 1] drawn from ground-truth boxes ``[K, 4]`` (xyxy image pixels of a
    ``width`` x ``height`` image), sampled at pixel centres. ``union``: 1 inside any box; ``ellipse``:
    ``max_k exp(-ln 2 * r_k^2)`` with ``r_k`` the distance to box k's centre in units of its half sides (0.5 on
    the inscribed ellipse)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) * [grid / width, grid / height, grid / width,
                                                               grid / height]
    c = np.arange(grid) + 0.5
    xs, ys = c[None, :], c[:, None]
    out = np.zeros((grid, grid), dtype=np.float64)
    for x0, y0, x1, y1 in b:
        if kind == "union":
            out = np.maximum(out, ((xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)).astype(np.float64))
        elif kind == "ellipse":
            hw, hh = max((x1 - x0) / 2, 1e-6), max((y1 - y0) / 2, 1e-6)
            r2 = ((xs - (x0 + x1) / 2) / hw) ** 2 + ((ys - (y0 + y1) / 2) / hh) ** 2
            out = np.maximum(out, np.exp(-math.log(2.0) * r2))
        else:
            raise ValueError(f"unknown map kind {kind!r}; expected one of {KINDS}")
    return out.astype(np.float32)


def touching_share(gt: dict[int, np.ndarray], gap: float = 1.0) -> tuple[int, int]:
    """(crowns within ``gap`` px of another crown of their image, all crowns)."""
    near = total = 0
    for b in gt.values():
        total += len(b)
        for i in range(len(b)):
            others = np.delete(b, i, axis=0)
            dx = np.maximum(others[:, 0] - b[i, 2], b[i, 0] - others[:, 2])
            dy = np.maximum(others[:, 1] - b[i, 3], b[i, 1] - others[:, 3])
            near += bool(len(others) and (np.maximum(dx, dy) <= gap).any())
    return near, total


def drawn_figures(shown: list[np.ndarray], gts: list[np.ndarray], sizes: list[tuple[int, int]]) -> dict:
    """Figures of the boxes drawn on each image (best first) against its ground truth."""
    acc = box_acc_for_boxes(shown, gts, sizes)
    top1 = [float(box_iou(s[:1], g).max()) if len(s) else 0.0 for s, g in zip(shown, gts, strict=True)]
    pr = precision_recall(shown, gts, 0.5)
    costs = Costs()
    draw_all = sum(len(g) for g in gts) * costs.draw
    look1 = sum(replay_image(s, g, costs, 1).seconds for s, g in zip(shown, gts, strict=True))
    look_all = sum(replay_image(s, g, costs, len(s)).seconds for s, g in zip(shown, gts, strict=True))
    return {"all@50": acc[50], "all@70": acc[70], "top1@50": 100.0 * np.mean(np.asarray(top1) >= 0.5),
            "top1@70": 100.0 * np.mean(np.asarray(top1) >= 0.7), "P@.5": pr.precision,
            "R@.5": pr.recall, "box/img": pr.n_pred / max(len(gts), 1),
            "insp.top1": look1 / draw_all, "insp.all": look_all / draw_all}


def map_ceiling(project: Project, splits: tuple[str, ...], split_touching: float) -> None:
    """Print part 1 for the object images of ``splits``."""
    gt_all = ground_truth(project)
    recs = [r for s in splits for r in records_of(project, s) if r.id in gt_all]
    gts = [gt_all[r.id] for r in recs]
    sizes = [(r.width, r.height) for r in recs]
    near, total = touching_share({r.id: gt_all[r.id] for r in recs})
    multi = sum(len(g) > 1 for g in gts)
    print(f"\n{project.path.name}, splits {','.join(splits)}: {len(recs)} object images, {total} boxes; "
          f"{multi} images with more than one box; {near} boxes ({100.0 * near / max(total, 1):.1f} %) touch or "
          f"overlap another one (gap <= 1 px)")
    head = ("MaxBoxAccV2", "MBA@30", "MBA@50", "MBA@70", "op@30", "op@50", "op@70")
    print("maps (scored like a prediction run, operating threshold 0.5):")
    print(f"{'':<12}" + "".join(f"{h:>12}" for h in head))
    for kind in KINDS:
        maps = [perfect_map(g, w, h, kind) for g, (w, h) in zip(gts, sizes, strict=True)]
        rep = evaluate_maps(maps, gts, sizes, EvalConfig(), map_type="predicted",
                            operating_threshold=OPERATING_THRESHOLD).to_json()
        mba, op = rep["MaxBoxAcc"], rep["BoxAccV2AtOperatingThreshold"]
        vals = (rep["MaxBoxAccV2"], mba["30"], mba["50"], mba["70"], op["30"], op["50"], op["70"])
        print(f"{kind:<12}" + "".join(f"{v:>12.1f}" for v in vals))
    draws = {"default": BoxDrawConfig(), f"split{split_touching:g}": BoxDrawConfig(split_touching=split_touching)}
    cols = ("all@50", "all@70", "top1@50", "top1@70", "P@.5", "R@.5", "box/img", "insp.top1", "insp.all")
    print("boxes drawn from the maps by the prediction run's drawing (threshold 0.5); insp.: inspector replay, "
          "time / extreme clicking, looking at the top box or at every box, no click box:")
    print(f"{'':<22}" + "".join(f"{c:>10}" for c in cols))
    for kind in KINDS:
        for name, draw in draws.items():
            shown = []
            for g, (w, h) in zip(gts, sizes, strict=True):
                b = boxes_for_map(perfect_map(g, w, h, kind), w, h, 1.0, OPERATING_THRESHOLD, draw)
                shown.append(np.asarray([x[:4] for x in b], dtype=np.float64).reshape(-1, 4))
            f = drawn_figures(shown, gts, sizes)
            print(f"{kind + ', ' + name:<22}" + "".join(
                f"{f[c]:>10.2f}" if c.startswith(("insp", "box")) else f"{f[c]:>10.1f}" for c in cols))


# measured kept / adjusted / redrawn click-box mixes (docs/BENCHMARKS.md, "One click, one box": `auto`, nothing
# looked at, clicks on the centre, file order)
CLICK_MIXES = {"aerial click mix 65/49/35": (65, 49, 35), "demo click mix 57/22/23": (57, 22, 23)}


def click_cost(kept: int, adjusted: int, redrawn: int, costs: Costs) -> float:
    """Mean seconds to box an object by a click: kept = click + verify, adjusted = click + adjust, redrawn =
    click + verify + extreme click."""
    n = kept + adjusted + redrawn
    return (kept * (costs.click + costs.verify) + adjusted * (costs.click + costs.adjust)
            + redrawn * (costs.click + costs.verify + costs.draw)) / n


def needed_accept_share(r: float, rho: float, c: float, costs: Costs) -> float:
    """The share ``a`` of objects whose suggestion must be accepted for ratio ``r`` to extreme clicking, from
    ``r = (verify * (a + rho) + c * (1 - a)) / draw`` (``rho`` wrong suggestions looked at per object, ``c`` seconds
    per object no suggestion covers); below 0: met without suggestions; above 1: out of reach."""
    return (c + costs.verify * rho - r * costs.draw) / (c - costs.verify)


def inspector_floor() -> None:
    """Print part 2."""
    costs = Costs()
    ways = {"click box always kept (floor)": costs.click + costs.verify,
            **{k: click_cost(*v, costs) for k, v in CLICK_MIXES.items()}, "extreme clicking": costs.draw}
    print(f"\ninspector floor: r = ({costs.verify} (a + rho) + c (1 - a)) / {costs.draw}; a = share of objects "
          "whose suggestion is accepted, rho = wrong suggestions looked at per object, c = s per object no "
          "suggestion covers")
    print(f"{'c: how uncovered objects are boxed':<36}{'c (s)':>7}{'r at a=0':>10}"
          + "".join(f"{'r<=' + format(r, 'g') + ' rho=' + format(rho, 'g'):>16}"
                    for r in (0.5, 0.35) for rho in (0.0, 0.5, 1.0)))
    for name, c in ways.items():
        cells = "".join(f"{100.0 * needed_accept_share(r, rho, c, costs):>15.0f}%" for r in (0.5, 0.35)
                        for rho in (0.0, 0.5, 1.0))
        print(f"{name:<36}{c:>7.2f}{c / costs.draw:>10.2f}" + cells)
    print("(a above 100 %: out of reach even if every suggestion were right; a below 0: met with no suggestion)")


def _run(cmd: list[str], log: Path) -> None:
    """Run one bench step unless its log says it finished; its output goes to ``log``."""
    if log.is_file() and "total" in log.read_text():
        print(f"(reusing {log})")
        return
    with log.open("w") as f:
        subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, check=True)


def import_split_gt(project_path: Path, split: str, out_json: Path) -> None:
    """Import the ground truth of ``split``'s images of the project at ``project_path`` as its curated boxes (once:
    skipped when an image of the split has curated boxes), through the app's CLI (``import-coco --as curated``),
    writing the COCO file it imports to ``out_json``."""
    with Project.open(project_path) as p:
        ids_of_split = {r.id for r in records_of(p, split)}
        if any(p.boxes.list(i) for i in ids_of_split):
            return
        gt = [(g.image_id, g.xyxy) for g in p.boxes.gt() if g.image_id in ids_of_split]
        classes = p.class_names()
        images = {r.id: (r.rel_path, r.width, r.height, classes.get(r.class_id, "object")) for r in p.images.list()}
    ids = sorted({i for i, _ in gt})
    cats = sorted({images[i][3] for i in ids})
    coco = {"images": [{"id": i, "file_name": images[i][0], "width": images[i][1], "height": images[i][2]}
                       for i in ids],
            "annotations": [{"id": k + 1, "image_id": i, "category_id": cats.index(images[i][3]) + 1,
                             "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "area": (b[2] - b[0]) * (b[3] - b[1]),
                             "iscrowd": 0} for k, (i, b) in enumerate(gt)],
            "categories": [{"id": k + 1, "name": c} for k, c in enumerate(cats)]}
    out_json.write_text(json.dumps(coco))
    subprocess.run([sys.executable, str(REPO / "main.py"), "import-coco", str(project_path), str(out_json),
                    "--as", "curated"], check=True)


def import_train_gt(oracle_project: Path, out: Path) -> None:
    """The oracle's curated boxes: the train split's ground truth (``import_split_gt``, written to
    ``out/train_gt.json``)."""
    import_split_gt(oracle_project, "train", out / "train_gt.json")


def print_oracle_table(out: Path, seeds: list[int]) -> None:
    """The held-out figures of the oracle and default runs, from ``real_aerial.py``'s JSON files in ``out``."""
    print(f"\nheld-out val + test object images; oracle = the train split's ground truth imported as curated boxes "
          f"(seeds {','.join(map(str, seeds))}):")
    print(f"{'':<12}{'seed':>6}{'MaxBoxAccV2':>13}{'op@30':>8}{'op@50':>8}{'op@70':>8}{'P@.5':>8}{'R@.5':>8}"
          f"{'box/img':>9}{'tau':>6}")
    rows = {(name, seed): json.loads((out / f"{name}_s{seed}.json").read_text())["rows"]
            for name in ("oracle", "default") for seed in seeds}
    lines = [("raw attn.", seeds[0], rows[("default", seeds[0])]["raw attention"][0])]
    lines += [(name, seed, rows[(name, seed)]["DiPS"][0]) for name in ("oracle", "default") for seed in seeds]
    for label, seed, row in lines:
        print(f"{label:<12}{seed:>6}{row['MaxBoxAccV2']:>13.1f}{row['op30']:>8.1f}{row['op50']:>8.1f}"
              f"{row['op70']:>8.1f}{row['precision50']:>8.1f}{row['recall50']:>8.1f}"
              f"{row['boxes_per_object_image']:>9.2f}{row.get('threshold') or float('nan'):>6.2f}")


def oracle(project_path: Path, out: Path, seeds: list[int]) -> None:
    """Part 3: copies, curated train GT in the oracle copy, training, scores on val + test, inspector replays."""
    for name in ("oracle", "default"):
        if not (out / name / "src").is_dir():
            shutil.copytree(project_path.resolve().parent, out / name / "src", symlinks=True)
    import_train_gt(out / "oracle" / "src" / project_path.name, out)
    py = [sys.executable]
    for seed in seeds:
        for name in ("oracle", "default"):
            _run(py + [str(REPO / "bench" / "real_aerial.py"), "--work", str(out / name), "--seeds", str(seed),
                       "--split", "valtest", "--json", str(out / f"{name}_s{seed}.json")],
                 out / f"{name}_s{seed}.log")
    print_oracle_table(out, seeds)
    for name in ("oracle", "default"):
        proj = out / name / "src" / project_path.name
        logs = [out / f"sim_{name}.log", out / f"sim_{name}_click.log"]
        sim = py + [str(REPO / "bench" / "inspector_sim.py"), str(proj), "--splits", "val,test", "--orders", "file"]
        _run(sim + ["--work", str(out / f"sim_{name}")], logs[0])
        _run(sim + ["--gate", "--click-box", "auto", "--work", str(out / f"sim_{name}_click")], logs[1])
        print(f"\ninspector replay on val + test, {name} project (its latest prediction run, no retraining):")
        for f in logs:
            text = f.read_text().splitlines()
            print("\n".join(text[next(i for i, t in enumerate(text) if t.startswith(proj.name)):]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project", help="project file (.dips) with ground-truth boxes (import-coco --as gt)")
    ap.add_argument("--splits", default="all", help="splits whose object images are scored, e.g. train,val "
                    "(default all)")
    ap.add_argument("--split-touching", type=float, default=0.15, help="split_touching of the second drawing "
                    "(default 0.15, the value the prediction run's fit tries)")
    ap.add_argument("--oracle", metavar="OUT", help="also train and score the fully supervised localizer (copies "
                    "under OUT; minutes a seed)")
    ap.add_argument("--seeds", default="0", help="training seeds of --oracle, comma-separated (default 0)")
    a = ap.parse_args()
    with Project.open(a.project) as project:
        map_ceiling(project, tuple(a.splits.split(",")), a.split_touching)
    inspector_floor()
    if a.oracle:
        oracle(Path(a.project), Path(a.oracle), [int(s) for s in a.seeds.split(",")])


if __name__ == "__main__":
    main()
