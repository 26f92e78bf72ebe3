"""The inspector's time, simulated: replay a review session with ground truth as the inspector.

Run from the repository root (nice it on a shared machine):
    .venv/bin/python bench/inspector_sim.py PROJECT [--orders file,uncertain] [--retrain-every 0,20]
                                            [--look 1] [--work /tmp/dips_sim] [--plot docs/inspector_NAME.png]

PROJECT must have ground-truth boxes (``import-coco --as gt``) and a finished training run with a
prediction run (``main.py run``). The project is copied (with its work folder) before anything is
written, so PROJECT is never changed.

For each image, in the order of ``--orders``, the inspector looks at the top ``--look`` suggestions (the
prediction run's boxes, best first); a suggestion matching a not yet boxed object at IoU >= 0.7 is
accepted, at 0.5 <= IoU < 0.7 adjusted, otherwise rejected; then every object still without a box is
drawn. Images without ground truth (e.g. ``open_ground``) cost only the rejections of their suggestions.
With ``--retrain-every N`` the curated boxes are written to the copy after each image, and after every N
curated object images the heads are trained again and the remaining images predicted again, so curated
boxes feed the next suggestions, as the product promises (training time is not counted: it runs while
the inspector works). Orders: ``file`` (the images list, as Ctrl+Shift+D walks it), ``uncertain`` (lowest
top score first, re-sorted after each retraining), ``confident`` (highest first).

Costs per action (seconds; all options):
* verify a box (accept or reject one): 1.6 s, Papadopoulos et al., "We don't need no bounding boxes",
  CVPR 2016 (box verification);
* draw a box by extreme clicking: 7.0 s, Papadopoulos et al., "Extreme clicking for efficient object
  annotation", ICCV 2017; the traditional way: 34.5 s, the figure that paper gives for ILSVRC-style drawing;
* adjust a box: ASSUMED 1.6 s to verify it plus re-placing two of its four extreme points at 7.0 / 4 s
  each = 5.1 s (no study measures it; the issue's replay used 4 s);
* start click-box mode (key C, ``--click-box``): ASSUMED 0.5 s per key press (``--mode-key``; no study measures
  it: about one keystroke plus moving a hand to the key, 0.28 + 0.4 s in the keystroke-level model of Card, Moran and
  Newell, CACM 1980, rounded down as the hand rests on the keys while reviewing). The app keeps the mode from image to
  image until Esc or another tool, so it is charged once per session; ``--mode-per-image`` charges it on every image
  with a click (the app before issue 19 ended the mode when the image changed).

Prints, per order and retraining setting: total time, its ratio to drawing every box by extreme clicking
(and by the traditional way), the counts of actions, and the curve of correctly boxed object images
against time; writes the curves as a PNG with ``--plot``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.dips.boxes import box_iou


@dataclass
class Costs:
    verify: float = 1.6        # s per box verified (accept or reject): Papadopoulos et al. 2016
    draw: float = 7.0          # s per box drawn by extreme clicking: Papadopoulos et al. 2017
    adjust: float = 5.1        # s per box adjusted: ASSUMED verify + 2 of 4 extreme points (2 x 7.0 / 4)
    traditional: float = 34.5  # s per box drawn the traditional way (Papadopoulos et al. 2017)
    click: float = 1.9         # s per click on an object's centre (--click-box): see the module docstring
    mode_key: float = 0.5      # s per key press starting click-box mode: ASSUMED (module docstring)


@dataclass
class ImageOutcome:
    seconds: float
    accepted: int = 0
    adjusted: int = 0
    rejected: int = 0
    drawn: int = 0
    click_kept: int = 0        # --click-box: the box of a click accepted as it is
    click_adjusted: int = 0    # ... adjusted
    click_redrawn: int = 0     # ... deleted and drawn by extreme clicking (also counted in drawn)
    curated: list = field(default_factory=list)   # final boxes (image pixels): accepted suggestions and GT


def replay_image(shown: np.ndarray, gt: np.ndarray, costs: Costs, look: int, click=None) -> ImageOutcome:
    """One image: the inspector looks at the top ``look`` suggestions ``shown`` ``[N, 4]`` (best first), then
    draws every GT box ``[M, 4]`` no accepted or adjusted suggestion covers. With ``click`` (a function of a GT
    box ``[4]`` and the boxes curated so far on the image, returning the click tool's box ``[4]``) each missing
    object is first clicked at; its box is verified and kept (IoU >= 0.7), adjusted (>= 0.5) or deleted and drawn.
    """
    shown = np.asarray(shown, dtype=np.float64).reshape(-1, 4)[:max(look, 0)]
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    out = ImageOutcome(0.0)
    free = np.ones(len(gt), dtype=bool)
    ious = box_iou(shown, gt) if len(gt) else np.zeros((len(shown), 0))
    for i in range(len(shown)):
        cand = np.where(free, ious[i], -1.0) if len(gt) else np.zeros(0)
        j = int(np.argmax(cand)) if len(cand) else -1
        best = cand[j] if j >= 0 else 0.0
        if best >= 0.7:
            out.accepted += 1
            out.seconds += costs.verify
            out.curated.append(shown[i])
            free[j] = False
        elif best >= 0.5:
            out.adjusted += 1
            out.seconds += costs.adjust
            out.curated.append(gt[j])
            free[j] = False
        else:
            out.rejected += 1
            out.seconds += costs.verify
    for j in np.flatnonzero(free):
        if click is not None:
            b = np.asarray(click(gt[j], out.curated), dtype=np.float64).reshape(1, 4)
            iou = float(box_iou(b, gt[j:j + 1])[0, 0])
            out.seconds += costs.click
            if iou >= 0.7:
                out.click_kept += 1
                out.seconds += costs.verify
                out.curated.append(b[0])
            elif iou >= 0.5:
                out.click_adjusted += 1
                out.seconds += costs.adjust
                out.curated.append(gt[j])
            else:
                out.click_redrawn += 1
                out.seconds += costs.verify
            if hasattr(click, "done"):
                click.done(out.curated[-1] if iou >= 0.5 else gt[j])
            if iou >= 0.5:
                continue
        out.drawn += 1
        out.seconds += costs.draw
        out.curated.append(gt[j])
    return out


@dataclass
class Session:
    order: str
    retrain_every: int
    seconds: float = 0.0
    counts: dict = field(default_factory=lambda: {"accepted": 0, "adjusted": 0, "rejected": 0, "drawn": 0,
                                                  "click_kept": 0, "click_adjusted": 0, "click_redrawn": 0})
    curve: list = field(default_factory=lambda: [(0.0, 0)])   # (seconds, object images boxed)
    retrains: int = 0
    refit_every: int = 0        # predictions redone without training (retrains counts them)
    mode_keys: int = 0          # key presses that started click-box mode (charged in seconds)


def charge_mode_key(s: Session, out: ImageOutcome, costs: Costs, per_image: bool = False) -> None:
    """Charge ``s`` the key press (C) that starts click-box mode before ``out``'s first click, if the mode is not on:
    once per session (the app keeps the mode from image to image), or on every image with a click (``per_image``:
    the app before issue 19)."""
    if out.click_kept + out.click_adjusted + out.click_redrawn and (per_image or s.mode_keys == 0):
        s.mode_keys += 1
        s.seconds += costs.mode_key


def _gt(project, ids: set[int] | None = None) -> dict[int, np.ndarray]:
    out: dict[int, list] = {}
    for g in project.boxes.gt():
        if ids is not None and g.image_id not in ids:
            continue
        out.setdefault(g.image_id, []).append(g.xyxy)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _shown(project, image_id: int, run_id: int | None) -> np.ndarray:
    p = project.maps.prediction(image_id, run_id)
    return np.asarray([(b.x0, b.y0, b.x1, b.y1) for b in p.boxes] if p else [], dtype=np.float64).reshape(-1, 4)


def _shown_scored(project, image_id: int, run_id: int | None) -> tuple[np.ndarray, np.ndarray]:
    p = project.maps.prediction(image_id, run_id)
    boxes = [(b.x0, b.y0, b.x1, b.y1) for b in p.boxes] if p else []
    return (np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            np.asarray([b.score for b in p.boxes] if p else [], dtype=np.float64))


def replay_gated(shown: np.ndarray, scores: np.ndarray, gt: np.ndarray, costs: Costs, gate,
                 click=None) -> ImageOutcome:
    """One image when the app shows only the boxes ``gate`` (core.dips.suggest.SuggestionGate) lets through;
    then the gate learns from every suggested box against the boxes the image ended with."""
    keep = gate.show(scores)
    out = replay_image(shown[keep], gt, costs, len(keep), click)
    gate.record(shown, scores, np.asarray(out.curated, dtype=np.float64).reshape(-1, 4))
    return out


def _top_score(project, image_id: int, run_id: int | None) -> float:
    p = project.maps.prediction(image_id, run_id)
    return max((b.score for b in p.boxes), default=0.0) if p else 0.0


def copy_project(src: Path, dst_dir: Path) -> Path:
    """A copy of the project file and its work folder under ``dst_dir``; images stay where they are."""
    from core.store.project import Project
    with Project.open(src) as p:
        images, work = p.image_root, p.work_dir
    if dst_dir.exists():
        shutil.rmtree(dst_dir)
    dst_dir.mkdir(parents=True)
    dst = dst_dir / src.name
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:   # consistent, write-ahead log included
        a.backup(b)
    if work.is_dir():
        shutil.copytree(work, dst_dir / work.name)
    with Project.open(dst) as p:   # image paths are relative to the project file: point them back
        if p.image_root != images:
            p.set_meta("image_root", str(images))
    return dst


# C901 allowed: one review session, replayed step by step in the order an inspector works
def simulate(project, order: str, retrain_every: int, costs: Costs, look: int, progress=None,  # noqa: C901
             epochs: int | None = None, seed: int = 0, splits: tuple[str, ...] | None = None,
             train_set: str = "", gate: bool = False, refit_every: int = 0, fit: bool = False,
             click_cfg=None, click_jitter: float = 0.0, run_id: int | None = None,
             gate_draw: float | None = None, mode_per_image: bool = False,
             click_choose: tuple[str, ...] | None = None, chooser_set: dict | None = None) -> Session:
    """One review session on ``project`` (a copy: curated boxes are written when retraining). ``click_cfg``
    (core.dips.click_box.ClickBoxConfig): objects without a box are clicked at (their centre, moved by
    ``click_jitter`` x their side, Gaussian, when > 0) before any is drawn; method ``auto`` chooses among
    ``click_choose`` (None: the chooser's default methods, as the app), ``chooser_set``: ClickBoxChooser arguments
    (e.g. ``{"judge": "seconds", "min_records": 3}``: the chooser before issue 27)."""
    from core.pipeline import predict, train
    from core.pipeline.config import load_config
    from core.progress import NULL_PROGRESS
    from core.store.repos.images import ImageFilter
    progress = progress or NULL_PROGRESS
    gt = _gt(project)
    run_id = run_id or project.maps.latest_run_id()
    pending = [r for r in project.images.list(ImageFilter(include_missing=False))
               if splits is None or r.split in splits]
    cfg = load_config(project)
    # later predictions draw boxes as the run the session starts from did (a project saved before a change of
    # the defaults would otherwise switch drawing half-way through the session)
    recorded = project.maps.prediction_run_config(run_id).get("boxes") if run_id is not None else None
    if recorded:
        from dataclasses import fields

        from core.settings import BoxDrawConfig
        cfg.boxes = BoxDrawConfig(**{f.name: recorded[f.name] for f in fields(BoxDrawConfig) if f.name in recorded})
    cfg.train.seed = seed
    if epochs:
        cfg.train.epochs = epochs
    from bench.real_aerial import set_train
    set_train(cfg, train_set)
    cfg.boxes.fit_to_curated = cfg.boxes.fit_to_curated or fit
    every = retrain_every or refit_every
    s = Session(order, retrain_every, refit_every=0 if retrain_every else refit_every)
    from core.dips.suggest import ReviewCosts, SuggestionGate
    # gate_draw: what the gate counts for an object it did not suggest (with the click tool, less than a drawing)
    the_gate = SuggestionGate(ReviewCosts(costs.verify, gate_draw or costs.draw, costs.adjust))
    since, boxed = 0, 0

    def sort_pending() -> None:
        if order == "file":
            return
        sign = 1.0 if order == "uncertain" else -1.0
        pending.sort(key=lambda r: (sign * _top_score(project, r.id, run_id), r.rel_path))
    if order not in ("file", "uncertain", "confident"):
        raise SystemExit(f"unknown order {order!r}")
    sort_pending()
    curated_all: list = []     # every box curated so far in the session: the click tool's typical size
    rng = np.random.default_rng(seed)
    from core.dips.click_box import ClickBoxChooser
    chooser = None
    if click_cfg is not None and click_cfg.method == "auto":
        chooser = ClickBoxChooser(**({"methods": click_choose} if click_choose else {}), **(chooser_set or {}))
    while pending:
        rec = pending.pop(0)
        click = Clicker(project, rec, run_id, curated_all, click_cfg, click_jitter, rng, chooser) if click_cfg else None
        if gate:
            boxes, scores = _shown_scored(project, rec.id, run_id)
            out = replay_gated(boxes, scores, gt.get(rec.id, np.zeros((0, 4))), costs, the_gate, click)
        else:
            out = replay_image(_shown(project, rec.id, run_id), gt.get(rec.id, np.zeros((0, 4))), costs, look, click)
        curated_all.extend(out.curated)
        s.seconds += out.seconds
        charge_mode_key(s, out, costs, mode_per_image)
        for k in s.counts:
            s.counts[k] += getattr(out, k)
        if rec.id in gt:
            boxed += 1
        s.curve.append((s.seconds, boxed))
        if every and out.curated:
            project.boxes.add_many([(rec.id, tuple(float(v) for v in b), rec.class_id, "manual", None)
                                    for b in out.curated])
        if every and rec.id in gt:
            since += 1
            if since >= every and pending:
                since = 0
                run = train(project, cfg, progress) if retrain_every else None   # None: the latest model
                run_id = predict(project, run, progress, image_ids=[r.id for r in pending], cfg=cfg)
                s.retrains += 1
                sort_pending()
    return s


class Clicker:
    """The click tool as the app runs it on one image: the latest prediction map and its operating threshold, the
    typical size of the boxes curated so far in the session (this image's included), the image's pixels; method
    ``auto``: the one ``chooser`` (core.dips.click_box.ClickBoxChooser) picks, told each object's final box."""

    def __init__(self, project, rec, run_id, curated_all: list, cfg, jitter: float, rng, chooser=None):
        self.project, self.rec, self.curated_all, self.cfg, self.jitter, self.rng = (project, rec, curated_all, cfg,
                                                                                   jitter, rng)
        self.p = project.maps.prediction(rec.id, run_id)
        cfg_run = project.maps.prediction_run_config(run_id) if self.p else {}
        self.tau = float(cfg_run.get("operating_threshold", 0.5))
        self.suggested = _shown(project, rec.id, run_id)
        self.chooser, self.rgb, self.last = chooser, None, None

    def __call__(self, g: np.ndarray, on_image: list) -> np.ndarray:
        from core.data.images import read_image
        from core.dips.click_box import click_candidates, prior_size
        if self.rgb is None:
            self.rgb = read_image(self.project.image_root / self.rec.rel_path)
        h, w = self.rgb.shape[:2]
        cx, cy = (g[0] + g[2]) / 2, (g[1] + g[3]) / 2
        if self.jitter > 0:
            cx += self.rng.normal(0.0, self.jitter * (g[2] - g[0]))
            cy += self.rng.normal(0.0, self.jitter * (g[3] - g[1]))
        cx, cy = float(np.clip(cx, 0, w - 1e-3)), float(np.clip(cy, 0, h - 1e-3))
        prior = prior_size(np.asarray(self.curated_all + list(on_image), dtype=np.float64).reshape(-1, 4), (w, h),
                           self.suggested, self.cfg)
        # method "auto": every method's box is computed (the chooser judges them all), the chosen one shown
        methods = self.chooser.methods if self.chooser is not None else (self.cfg.method,)
        self.last = click_candidates(self.rgb, (cx, cy), self.p.fg_map if self.p else None, self.tau, prior,
                                     self.cfg, methods)
        return self.last[self.chooser.choose() if self.chooser is not None else self.cfg.method]

    def done(self, final: np.ndarray) -> None:
        """The object's final box: the chooser learns from it."""
        if self.chooser is not None and self.last is not None:
            self.chooser.record(self.last, final)


def hand_seconds(gt: dict[int, np.ndarray], per_box: float) -> float:
    return sum(len(v) for v in gt.values()) * per_box


def print_session(s: Session, draw_all: float, traditional_all: float, n_obj: int) -> None:
    c = s.counts
    print(f"{s.order:<10} retrain {s.retrain_every or 'off':>4}: {s.seconds / 60:6.1f} min = "
          f"{s.seconds / draw_all:5.2f}x extreme clicking, {s.seconds / traditional_all:5.2f}x traditional; "
          f"accepted {c['accepted']}, adjusted {c['adjusted']}, rejected {c['rejected']}, drawn {c['drawn']}"
          + (f"; click boxes kept {c['click_kept']}, adjusted {c['click_adjusted']}, redrawn {c['click_redrawn']}"
             if c['click_kept'] + c['click_adjusted'] + c['click_redrawn'] else "")
          + (f"; {s.retrains} {'re-predictions (no training)' if s.refit_every else 'retrainings'}"
             if s.retrains else "")
          + (f"; click-box mode started {s.mode_keys}x" if s.mode_keys else ""))
    marks = [0.1, 0.25, 0.5, 0.75, 1.0]
    cells = []
    for m in marks:
        t = m * draw_all
        done = max((b for sec, b in s.curve if sec <= t), default=0)
        cells.append(f"{m:.2f}: {100.0 * done / max(n_obj, 1):5.1f}%")
    print("    object images boxed at a fraction of the hand-drawing time  " + "  ".join(cells))


def click_config(method: str, overrides: str):
    """The ClickBoxConfig of ``method`` with ``overrides`` (``key=value,...``); None for no click tool."""
    if not method:
        return None
    from dataclasses import fields, replace

    from core.dips.click_box import ClickBoxConfig
    types = {f.name: f.type for f in fields(ClickBoxConfig)}
    kw: dict = {"method": method}
    for item in filter(None, overrides.split(",")):
        k, v = item.split("=")
        kw[k] = int(v) if types[k] == "int" else float(v)
    return replace(ClickBoxConfig(), **kw)


def chooser_args(text: str) -> dict:
    """``judge=seconds,min_records=3`` -> ClickBoxChooser keyword arguments."""
    out: dict = {}
    for item in filter(None, text.split(",")):
        k, _, v = item.partition("=")
        if k not in ("judge", "min_records", "default"):
            raise SystemExit(f"--chooser: unknown setting {k!r} (judge, min_records, default)")
        out[k] = int(v) if k == "min_records" else v
    return out


def main() -> None:
    from core.progress import Progress, TextProgressBar
    from core.store.project import Project
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project")
    ap.add_argument("--orders", default="file,uncertain")
    ap.add_argument("--retrain-every", default="0", help="comma-separated N (0 = no retraining)")
    ap.add_argument("--look", type=int, default=1, help="suggestions the inspector looks at per image")
    ap.add_argument("--gate", action="store_true", help="instead of --look: show the boxes the app's suggestion "
                    "gate lets through (core/dips/suggest.py: learned from the images reviewed so far)")
    ap.add_argument("--verify", type=float, default=Costs.verify)
    ap.add_argument("--draw", type=float, default=Costs.draw)
    ap.add_argument("--adjust", type=float, default=Costs.adjust)
    ap.add_argument("--traditional", type=float, default=Costs.traditional)
    ap.add_argument("--epochs", type=int, help="epochs of each retraining (default: the project's)")
    ap.add_argument("--seed", type=int, default=0, help="training seed of the retrainings")
    ap.add_argument("--work", default="/tmp/dips_sim", help="where the project copy is made")
    ap.add_argument("--splits", help="only these splits, e.g. train,val (default: every image)")
    ap.add_argument("--train-set", default="", metavar="KEY=V,...", help="training settings of the retrainings, "
                    "e.g. curated_weight=4 (default: the project's)")
    ap.add_argument("--refit-every", type=int, default=0, help="without retraining: after every N curated object "
                    "images predict the remaining ones again with the same model (with --fit the box drawing is then "
                    "fitted to the curated boxes)")
    ap.add_argument("--fit", action="store_true", help="predictions fit threshold and box drawing to the curated "
                    "boxes (the fit_to_curated setting)")
    ap.add_argument("--click-box", default="", metavar="METHOD[,METHOD]", help="objects still without a box are "
                    "clicked at (their ground-truth centre) with the click-box tool, core/dips/click_box.py: region, "
                    "grabcut, square, contrast or auto (the app's choice, learned from the boxes curated so far; one "
                    "session per method); auto:M1+M2 chooses among M1 and M2 only")
    ap.add_argument("--click", type=float, default=Costs.click, help="seconds per click on an object's centre")
    ap.add_argument("--click-jitter", type=float, default=0.0, help="the click misses the centre by this x the "
                    "object's side (Gaussian standard deviation); 0 = on the centre")
    ap.add_argument("--click-set", default="", metavar="KEY=V,...", help="ClickBoxConfig fields, e.g. window=3")
    ap.add_argument("--chooser", default="", metavar="KEY=V,...", help="ClickBoxChooser arguments of method auto, "
                    "e.g. judge=seconds,min_records=3 (the chooser before issue 27)")
    ap.add_argument("--mode-key", type=float, default=Costs.mode_key, help="seconds per key press starting click-box "
                    "mode (ASSUMED, module docstring); charged once per session")
    ap.add_argument("--mode-per-image", action="store_true", help="charge --mode-key on every image with a click (as "
                    "if the mode ended when the image changed)")
    ap.add_argument("--gate-draw", type=float, help="seconds the gate counts for boxing an object it did not suggest "
                    "(default: --draw; with --click-box the click tool's cost is lower)")
    ap.add_argument("--run-id", type=int, help="start from this prediction run (default: the latest)")
    ap.add_argument("--plot", help="write the curves to this PNG")
    ap.add_argument("--name", default="", help="title of the plot")
    a = ap.parse_args()
    costs = Costs(a.verify, a.draw, a.adjust, a.traditional, a.click, a.mode_key)
    methods = a.click_box.split(",") if a.click_box else [""]
    src = Path(a.project).resolve()
    progress = Progress(TextProgressBar())
    sessions = []
    t0 = time.time()
    for n, order, method in [(n, o, m) for n in [int(x) for x in a.retrain_every.split(",")]
                             for o in a.orders.split(",") for m in methods]:
        method, _, choose = method.partition(":")   # auto:grabcut+square: the chooser among those only
        dst = copy_project(src, Path(a.work) / f"{order}_{n}_{method or 'draw'}")
        with Project.open(dst) as project:
            if project.maps.latest_run_id() is None:
                raise SystemExit(f"{src}: no prediction run (run 'main.py run' first)")
            splits = tuple(a.splits.split(",")) if a.splits else None
            s = simulate(project, order, n, costs, a.look, progress if n else None, a.epochs, a.seed, splits,
                         a.train_set, a.gate, a.refit_every, a.fit, click_config(method, a.click_set),
                         a.click_jitter, a.run_id, a.gate_draw, a.mode_per_image,
                         tuple(choose.split("+")) if choose else None, chooser_args(a.chooser))
            s.order = f"{order}{'+' + method if method else ''}{':' + choose if choose else ''}"
            ids = {r.id for r in project.images.list() if splits is None or r.split in splits}
            gt = _gt(project, ids)
            draw_all, trad_all = hand_seconds(gt, costs.draw), hand_seconds(gt, costs.traditional)
            n_obj = len(gt)
        sessions.append(s)
        print_session(s, draw_all, trad_all, n_obj)
    print(f"\n{src.name}: {n_obj} object images, drawing every box by extreme clicking {draw_all / 60:.1f} min "
          f"(traditional {trad_all / 60:.1f} min); {'gated' if a.gate else f'look at top {a.look}'}; "
          f"costs verify {costs.verify} s, adjust {costs.adjust} s, draw {costs.draw} s, click {costs.click} s"
          + (f", click-box mode key {costs.mode_key} s {'per image' if a.mode_per_image else 'once'}"
             if a.click_box else "") + "; "
          f"total bench time {(time.time() - t0) / 60:.1f} min")
    for s in sessions:
        print_session(s, draw_all, trad_all, n_obj)
    if a.plot:
        from bench.plot import line_plot
        series = {"draw every box": ([0.0, 1.0], [0.0, 100.0])}
        for s in sessions:
            xs = [min(sec / draw_all, 1.0) for sec, _ in s.curve]
            ys = [100.0 * b / max(n_obj, 1) for _, b in s.curve]
            series[f"{s.order}, retrain {s.retrain_every or 'off'}"] = (xs, ys)
        line_plot(series, Path(a.plot), f"Correctly boxed object images vs time {a.name}".strip(),
                  "time / time of drawing every box by extreme clicking", "% of object images boxed")


if __name__ == "__main__":
    main()
