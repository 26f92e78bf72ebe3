"""Benchmark: does following the user cost speed? The attention and proposal stages in file order vs re-prioritised
before every batch (a user jumping to a random image each time: it and the next 3 go first), side by side, on a
subset of the demo project with the app's defaults (DINOv2 ViT-S/14 at 448, the linear scorer f_x at 224).

It also prints where first use spends its time: the attention maps, training the proposal scorer f_x (it encodes
every training image once more at the scoring size before the first proposal), and the proposals themselves.

    .venv/bin/python bench/work_order.py [--per-class 16] [--repeats 2] [--work /tmp/dips_work_order]
        [--reuse] [--attention-images 16] [--proposal-images 4]

``--reuse`` keeps the project of an earlier run (its maps and cached scorer) and skips the first-use timing;
the side-by-side runs redo ``--attention-images`` / ``--proposal-images`` of its images (all: 0).

Runs alternate (fixed, reprioritised, reprioritised, fixed, ...) so a busy machine slows both alike; images/s is
the median.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.importer import import_images
from core.pipeline import compute_attention, compute_proposals
from core.pipeline.config import load_config
from core.pipeline.encoding import BackboneLoader
from core.progress import Progress
from core.store.project import Project
from core.work_order import WorkOrder


def _subset(demo_images: Path, out: Path, per_class: int) -> Path:
    root = out / "images"
    if root.exists():
        shutil.rmtree(root)
    for cls in ("site", "no_site"):
        (root / cls).mkdir(parents=True)
        for f in sorted((demo_images / cls).glob("*.jpg"))[:per_class]:
            shutil.copy(f, root / cls / f.name)
    return root


class Jumper:
    """A priority source that moves the user to a random image at every call: it and the next 3 go first."""

    def __init__(self, ids: list[int], seed: int = 0):
        self.ids, self.rng, self.calls = ids, random.Random(seed), 0

    def __call__(self) -> list[int]:
        self.calls += 1
        i = self.rng.randrange(len(self.ids))
        return self.ids[i:i + 4]


class Timeline(Progress):
    """Records when each stage (attention, scorer, classifier training, proposals) starts and ends."""

    def __init__(self):
        super().__init__(self._on)
        self.spans: dict[str, list[float]] = {}

    def _on(self, ev) -> None:
        now = time.perf_counter()
        span = self.spans.setdefault(ev.stage, [now, now])
        span[1] = now


def bookkeeping(n: int = 100_000, batch: int = 4) -> None:
    """The order's own cost per batch, without any model: a 100k-image project taken in batches of 4."""
    ids = list(range(n))
    for name, prio in (("fixed", None), ("reprioritised", Jumper(ids))):
        order = WorkOrder(ids, prio, key=lambda i: i)
        t = time.perf_counter()
        while len(order):
            order.take(batch)
            order.peek()
        dt = time.perf_counter() - t
        print(f"  {name:<14} {dt / (n / batch) * 1e6:6.1f} us per batch of {batch} (take + peek), {n:,} images")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=str(Path.home() / ".local/share/dips-studio/demo/data/images"),
                    help="the demo's image folder (made by `python main.py demo` or the app's first start)")
    ap.add_argument("--per-class", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--work", default="/tmp/dips_work_order")
    ap.add_argument("--reuse", action="store_true", help="the project of an earlier run; no first-use timing")
    ap.add_argument("--attention-images", type=int, default=0, help="images the side-by-side attention runs redo")
    ap.add_argument("--proposal-images", type=int, default=0, help="site images the side-by-side proposal runs redo")
    a = ap.parse_args()

    print("the work order's own cost:")
    bookkeeping()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    if a.reuse:
        project = Project.open(work / "bench.dips")
    else:
        for f in work.glob("bench.dips*"):
            f.unlink()
        root = _subset(Path(a.demo), work, a.per_class)
        project = Project.create(work / "bench.dips", root)
        import_images(project)
    cfg = load_config(project)
    backbone = BackboneLoader(cfg)
    backbone()   # loaded once, outside every timing
    ids = project.images.ids()
    sites = [r.id for r in project.images.list() if r.rel_path.startswith("site/")]
    n_sites = len(sites)
    print(f"{len(ids)} demo images ({n_sites} site), backbone {cfg.backbone_key}, attention batch "
          f"{cfg.attention.batch_size}, scorer {cfg.proposals.scorer} at {cfg.proposals.scoring_size} px")

    if not a.reuse:   # first use: everything from nothing, in file order
        tl = Timeline()
        t0 = time.perf_counter()
        compute_attention(project, cfg, tl, backbone=backbone)
        t1 = time.perf_counter()
        compute_proposals(project, cfg, tl, backbone=backbone)
        t2 = time.perf_counter()
        print(f"\nfirst use: attention {t1 - t0:.1f} s ({len(ids) / (t1 - t0):.2f} images/s), proposals "
              f"{t2 - t1:.1f} s for {n_sites} site images ({n_sites / (t2 - t1):.3f} images/s)")
        for stage, (s, e) in tl.spans.items():
            print(f"  {stage:<12} {e - s:7.1f} s")

    att_ids = ids[:a.attention_images] if a.attention_images else ids
    prop_ids = sites[:a.proposal_images] if a.proposal_images else sites
    rates: dict[tuple[str, str], list[float]] = {}
    for rep in range(a.repeats):
        # ABBA: each order goes first in half the repeats, so a warm-up or a busier minute favours neither
        for order in (("fixed", "reprioritised") if rep % 2 == 0 else ("reprioritised", "fixed")):
            for stage, fn, subset in (("attention", compute_attention, att_ids),
                                      ("proposals", compute_proposals, prop_ids)):
                prio = Jumper(subset, seed=rep) if order == "reprioritised" else None
                t = time.perf_counter()
                fn(project, cfg, image_ids=subset, force=True, backbone=backbone, priority=prio)
                rates.setdefault((stage, order), []).append(len(subset) / (time.perf_counter() - t))
    print(f"\nimages/s, median of {a.repeats} ABBA-alternating runs, {len(att_ids)} images for attention and "
          f"{len(prop_ids)} for proposals, each redone (force)")
    print("| stage | fixed order | reprioritised before every batch | ratio |\n| --- | --- | --- | --- |")
    for stage in ("attention", "proposals"):
        f, r = statistics.median(rates[(stage, "fixed")]), statistics.median(rates[(stage, "reprioritised")])
        print(f"| {stage} | {f:.2f} | {r:.2f} | {r / f:.2f} |")
    project.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
