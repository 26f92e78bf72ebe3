"""A large project stays quick: the window and the stages a user runs on a 10k and a 100k-image project.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/scale.py [--sizes 10000,100000] [--work /tmp/dips_scale]

For each size it writes that many small PNG files (8x8, each different) in two class folders, and a project
holding them with the rows a worked project has: attention maps (7 per image), 5 ranked proposals and one
curated box per image (bulk-inserted, as the stages would leave them). A child process per size then opens the
real main window and times what a user does, and reports its own peak memory (VmHWM: see bench/peak.py).
Targets are from issue 15: open < 2 s, each list action < 100 ms, re-scan < 10 s, export < 30 s, window memory < 1 GB;
the export dialog's counts (off the GUI thread, shown "counting..." until then) < 2 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.peak import peak_rss_gb  # noqa: E402

TARGETS = {"open and show the first image": 2.0, "scroll the list to the end": 0.1, "filter by class": 0.1,
           "filter by review state": 0.1, "search a name": 0.1, "next unreviewed": 0.1,
           "re-scan, nothing changed": 10.0, "export dialog's counts, one split": 2.0,
           "export all boxes": 30.0, "window peak memory (GB)": 1.0,
           "peak memory with the export (GB)": 1.0}


def build(folder: Path, n: int) -> Path:
    from PIL import Image

    from core.store.project import Project
    from core.store.schema import AttentionMapRow, BoxRow, ImageRow, ProposalRow

    path = folder / "big.dips"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        cls = "tower" if i % 3 else "no_site"
        rel = f"{cls}/flight_{i // 1000:03d}/img_{i:06d}.png"
        f = folder / "images" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(f)
        st = f.stat()
        rows.append(dict(id=i + 1, rel_path=rel, width=8, height=8, orientation=1, split="train",
                         review="verified" if i % 7 == 0 else "unreviewed", content_hash=f"{i:040x}",
                         file_size=st.st_size, file_mtime_ns=st.st_mtime_ns, missing=False, cls=cls))
    blob = np.zeros((4, 4), np.float16).tobytes()
    with Project.create(path, folder / "images") as p:
        ids = {"tower": p.class_id("tower"), "no_site": p.class_id("no_site")}
        for r in rows:
            r["class_id"] = ids[r.pop("cls")]
        with p.transaction() as s:
            s.bulk_insert_mappings(ImageRow, rows)
            s.bulk_insert_mappings(AttentionMapRow, [dict(image_id=i + 1, backbone="dinov2_s14@224", head=h, grid_h=4,
                                                          grid_w=4, data=blob) for i in range(n) for h in range(-1, 6)])
            s.bulk_insert_mappings(ProposalRow, [dict(image_id=i + 1, x0=1, y0=1, x1=5, y1=5, source_map=-1,
                                                      score=0.9 - k / 10, class_prob=0.5, rank=k + 1, status="pending")
                                                 for i in range(n) for k in range(5)])
            s.bulk_insert_mappings(BoxRow, [dict(image_id=i + 1, class_id=ids["tower"], x0=1, y0=1, x1=6, y1=6,
                                                 source="manual") for i in range(n)])
    return path


def child(path: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from app.launch import preload_heavy_modules
    from app.main_window import MainWindow
    from core.data.coco import export_coco, export_counts
    from core.data.importer import import_images
    from core.store.project import Project

    preload_heavy_modules()
    out: dict[str, float] = {}

    def until(cond, limit_s: float = 120) -> None:
        end = time.perf_counter() + limit_s
        while not cond() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)

    def timed(name: str, fn, cond=lambda: True) -> None:
        t0 = time.perf_counter()
        fn()
        app.processEvents()
        until(cond)
        out[name] = time.perf_counter() - t0

    holder = {}

    def open_window():
        w = MainWindow(Project.open(path), probe_device=False)
        w.resize(1300, 850)
        w.show()
        holder["w"] = w
    timed("open and show the first image", open_window,
          lambda: "w" in holder and holder["w"].canvas.image_id is not None and holder["w"].canvas.levels_shown)
    w = holder["w"]
    b = w.browser
    n_rows = b.model.rowCount()
    timed("scroll the list to the end", lambda: (b.view.scrollToBottom(), b.model.data(b.model.index(n_rows - 1))))
    timed("filter by class", lambda: b.class_box.setCurrentIndex(b.class_box.findText("tower")))
    timed("filter by review state", lambda: b.set_review_filter("unreviewed"))
    b.search.setText("img_09999")
    timed("search a name", b.apply_filter)
    timed("next unreviewed", w.on_next_unreviewed)
    out["window peak memory (GB)"] = peak_rss_gb()
    project = w.session.project
    timed("re-scan, nothing changed", lambda: import_images(project))
    # what the export dialog counts (on a worker thread) each time an image choice changes
    timed("export dialog's counts, one split", lambda: export_counts(project, split="train"))
    timed("export all boxes", lambda: export_coco(project, path.with_name("boxes.json"), boxes="all"))
    out["peak memory with the export (GB)"] = peak_rss_gb()
    w.shutdown()
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--work", default="/tmp/dips_scale")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(Path(a.child))
        return
    sizes = [int(s) for s in a.sizes.split(",")]
    results = {}
    for n in sizes:
        t0 = time.perf_counter()
        path = build(Path(a.work) / str(n), n)
        print(f"{n:,} images: project ready in {time.perf_counter() - t0:.0f} s ({path.stat().st_size / 2**20:.0f} MB)",
              flush=True)
        r = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        if r.returncode:
            print(r.stderr[-3000:])
            raise SystemExit(r.returncode)
        results[n] = json.loads(r.stdout.strip().splitlines()[-1])
    head = "".join(f"{f'{n:,} images':>16}" for n in sizes)
    print(f"\n{'action (seconds unless said)':<34}{head}{'target':>10}")
    for name, target in TARGETS.items():
        vals = "".join(f"{results[n][name]:>16.3f}" for n in sizes)
        worst = results[sizes[-1]][name]
        print(f"{name:<34}{vals}{target:>10}  {'ok' if worst < target else 'MISSED'}")


if __name__ == "__main__":
    main()
