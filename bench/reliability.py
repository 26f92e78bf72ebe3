"""Reliability harnesses: what happens to a project when processes die, collide, or the disk says no.

    .venv/bin/python bench/reliability.py [--kills 20] [--rounds 2000] [--skip-disk]

1. kill loop: a child process draws boxes (one transaction each, printing each id once committed) and is
   SIGKILLed at a random moment; every box it reported saved must be in the file, and the file must be intact.
2. two writers: this process accepts/rejects proposals while a child recomputes them; counts edits that landed,
   edits refused in words (gone / changed meanwhile) and any other exception (must be 0).
3. full disk (root, Linux): the project on a 5 MB tmpfs, `main.py attention` until the disk fills: exit code,
   the error line, leftover temporary files, and whether the project still opens.
4. read-only (root, Linux): the project on a read-only bind mount, `main.py import-coco`: exit code and message.
Pickles planted in the work folder and the signal/edit soak are tests: tests/core/pipeline/test_work_folder_safety.py,
tests/app/test_work_folder_safety.py, tests/app/test_signal_soak.py.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.importer import import_images  # noqa: E402
from core.store.project import ChangedMeanwhile, Project  # noqa: E402
from core.store.repos.proposals import NewProposal  # noqa: E402
from tests.core.store.test_two_writers import REGENERATOR  # noqa: E402 - the same recomputing writer as the test

DRAWER = """
import sys
from core.store.project import Project
p = Project.open(sys.argv[1])
ids = p.images.ids()
i = 0
while True:
    box = p.boxes.add(ids[i % len(ids)], (1, 1, 10 + i % 20, 12), None)
    print(box.id, flush=True)
    i += 1
"""



def make_project(folder: Path, n: int = 24, size: int = 224) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        cls = "site" if i % 2 else "no_site"
        (folder / "images" / cls).mkdir(parents=True, exist_ok=True)
        a = np.full((size, size, 3), rng.integers(40, 200, 3), np.uint8)   # flat ground and one patch: small PNGs
        x, y = rng.integers(0, size // 2, 2)
        a[y:y + size // 4, x:x + size // 4] = rng.integers(0, 255, 3)
        Image.fromarray(a).save(folder / "images" / cls / f"{i}.png")
    with Project.create(folder / "p.dips", folder / "images") as p:
        import_images(p)
    return folder / "p.dips"


def kill_loop(kills: int) -> None:
    rng = random.Random(0)
    lost = broken = saved = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = make_project(Path(tmp))
        for _ in range(kills):
            proc = subprocess.Popen([sys.executable, "-c", DRAWER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                    text=True)
            reported = [int(proc.stdout.readline()) for _ in range(rng.randint(1, 40))]
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            con = sqlite3.connect(path)
            broken += con.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
            have = {r[0] for r in con.execute("SELECT id FROM boxes")}
            con.close()
            lost += sum(1 for i in reported if i not in have)
            saved += len(reported)
    print(f"kill loop: {kills} SIGKILLs during edits, {saved} edits reported saved, {lost} lost, "
          f"{broken} damaged files")


def two_writers(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = make_project(Path(tmp), n=8, size=64)
        with Project.open(path) as p:
            ids = p.images.ids()
            for i in ids:
                p.proposals.replace(i, [NewProposal((1, 1, 30, 30), -1, 0.5, 0.5)])
            proc = subprocess.Popen([sys.executable, "-c", REGENERATOR, str(path), str(rounds)], cwd=ROOT,
                                    stdout=subprocess.PIPE, text=True)
            proc.stdout.readline()
            landed = refused = other = 0
            t0 = time.perf_counter()
            for i in range(rounds):
                pending = [r for r in p.proposals.list(ids[i % len(ids)]) if r.status == "pending"]
                if not pending:
                    continue
                try:
                    if i % 2:
                        p.proposals.accept(pending[0].id, None)
                    else:
                        p.proposals.set_status(pending[-1].id, "rejected")
                    landed += 1
                except (KeyError, ChangedMeanwhile):
                    refused += 1
                except Exception as exc:
                    other += 1
                    print(f"  unexpected {exc.__class__.__name__}: {exc}")
            proc.stdout.readline()
            proc.wait()
            seconds = time.perf_counter() - t0
        con = sqlite3.connect(path)
        ok = con.execute("PRAGMA integrity_check").fetchone()[0] == "ok" and not con.execute(
            "PRAGMA foreign_key_check").fetchall()
        con.close()
    print(f"two writers: {rounds} recomputations against {rounds} edits in {seconds:.1f} s: {landed} landed, "
          f"{refused} refused in words, {other} other errors; file consistent: {ok}")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, capture_output=True, text=True)


def full_disk() -> None:
    mnt = Path(tempfile.mkdtemp())
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mnt)], capture_output=True).returncode:
        print("full disk: skipped (mounting a tmpfs needs root on Linux)")
        return
    try:
        path = make_project(mnt, n=40, size=224)
        r = _cli("attention", str(path))
        err = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        tmp_left = list(mnt.rglob("*.tmp"))
        with Project.open(path) as p:
            opened = p.images.count() == 40
        print(f"full disk (5 MB tmpfs): exit {r.returncode}; {err[-1] if err else 'no error line'}; "
              f"{len(tmp_left)} temporary files left; project opens with every image: {opened}")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
        shutil.rmtree(mnt, ignore_errors=True)


def read_only() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        path = make_project(src, n=4, size=64)
        coco = Path(tmp) / "boxes.json"
        _cli("export", str(path), "--out", str(coco))
        data = json.loads(coco.read_text())
        data["annotations"] = [{"id": 1, "image_id": data["images"][0]["id"], "category_id": 1, "bbox": [1, 1, 5, 5]}]
        coco.write_text(json.dumps(data))
        ro = Path(tmp) / "ro"
        ro.mkdir()
        if subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True).returncode:
            print("read-only: skipped (a bind mount needs root on Linux)")
            return
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
            r = _cli("import-coco", str(ro / "p.dips"), str(coco))
            print(f"read-only mount: import-coco exit {r.returncode}; {r.stderr.strip().splitlines()[-1]}")
        finally:
            subprocess.run(["umount", str(ro)], check=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--skip-disk", action="store_true")
    a = ap.parse_args()
    kill_loop(a.kills)
    two_writers(a.rounds)
    if not a.skip_disk:
        full_disk()
        read_only()


if __name__ == "__main__":
    main()
