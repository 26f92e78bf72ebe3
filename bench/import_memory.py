"""Peak memory (RSS) of importing and reading very large images: does it grow with the number of files?

Run from the repository root:
    .venv/bin/python bench/import_memory.py [--side 20000] [--files 1 4] [--repo DIR] [--work /tmp/dips_big]

Writes ``max(--files)`` PNGs of side x side pixels (flat colour: ~1 MB each on disk, like a scanned mosaic),
then, in a fresh child process per case, imports the first N of them into a new project (4 reader threads, as
the CLI does) and reads each at the attention stage's size (``read_image(max_side=448)``) in 4 threads. Each
child's peak RSS (ru_maxrss) is printed. ``--repo`` runs another checkout's code (e.g. the main branch) on the
same files, for a side-by-side figure.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from core.data.importer import import_images
from core.data.images import read_image
from core.store.project import Project
work, n, what = Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
root = work / f"images_{n}"
t0 = time.time()
if what == "import":
    proj = work / f"p_{n}.dips"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{proj}{suffix}").unlink(missing_ok=True)
    p = Project.create(proj, root)
    r = import_images(p, workers=4)
    result = f"added {r.added}, skipped {len(r.skipped)}"
    p.close()
else:
    files = sorted(root.rglob("*.png"))
    with ThreadPoolExecutor(4) as pool:
        shapes = list(pool.map(lambda f: read_image(f, max_side=448).shape, files))
    result = f"read {len(shapes)} at {shapes[0][:2]}"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
print(json.dumps({"what": what, "n": n, "peak_gb": round(peak, 2), "s": round(time.time() - t0, 1), "result": result}))
"""


def _write_pngs(work: Path, side: int, n: int) -> None:
    import numpy as np
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = None
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = src / f"big_{i}.png"
        if not path.exists():
            a = np.full((side, side, 3), (40 + 50 * i % 200, 90, 60), np.uint8)
            Image.fromarray(a).save(path, compress_level=1)
            del a


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, default=20000)
    ap.add_argument("--files", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--repo", default=str(ROOT), help="checkout whose code runs the import")
    ap.add_argument("--work", default="/tmp/dips_big")
    a = ap.parse_args()
    work = Path(a.work) / str(a.side)
    # written by a child of its own: a child's ru_maxrss starts from its parent's resident size at fork
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                    f"from bench.import_memory import _write_pngs; from pathlib import Path; "
                    f"_write_pngs(Path({str(work)!r}), {a.side}, {max(a.files)})"], check=True)
    for n in a.files:
        root = work / f"images_{n}"
        shutil.rmtree(root, ignore_errors=True)
        (root / "tower").mkdir(parents=True)
        for i in range(n):
            (root / "tower" / f"big_{i}.png").symlink_to(work / "src" / f"big_{i}.png")
        for what in ("import", "read"):
            out = subprocess.run([sys.executable, "-c", CHILD, a.repo, str(work), str(n), what],
                                 capture_output=True, text=True)
            if out.returncode:
                print(f"{what} of {n} file(s): exit {out.returncode}: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{a.side}x{a.side} PNG x{n}: {what:<6} peak RSS {r['peak_gb']:.2f} GB, {r['s']} s ({r['result']}) "
                  f"[{Path(a.repo).resolve().name}]")


if __name__ == "__main__":
    main()
