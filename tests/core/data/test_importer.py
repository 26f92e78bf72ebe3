from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.importer import import_images
from core.data.splits import SplitConfig, assign_splits
from core.store.project import Project
from core.store.repos.images import ImageFilter
from tests.conftest import make_image

REPO = Path(__file__).resolve().parents[3]


def test_folder_import_skips_bad_files_with_reasons(tmp_path, image_folder):
    p = Project.create(tmp_path / "p.dips", image_folder)
    report = import_images(p)
    assert report.added == 7
    assert len(report.skipped) == 4
    reasons = dict(report.skipped)
    assert "not an image" in reasons["site/notes.txt"]
    assert "corrupt" in reasons["no_site/broken.jpg"]
    assert "not an image" in reasons["no_site/text.png"]
    assert "truncated" in reasons["site/truncated.jpg"]
    assert any("empty_class" in w for w in report.warnings)
    assert sorted(c.name for c in p.classes()) == ["no_site", "site"]
    assert p.images.by_path("site/tour_été_📡.jpg") is not None
    assert p.images.by_path("site/sub/b.png").class_id == p.class_id("site", create=False)
    p.close()


def test_exif_rotation_gives_oriented_size_and_pixels(project):
    from core.data.images import read_image
    rec = project.images.by_path("site/rotated.jpg")
    assert (rec.width, rec.height) == (48, 64) and rec.orientation == 6
    assert read_image(project.images.path(rec)).shape == (64, 48, 3)


def test_reimport_adds_new_flags_missing_never_duplicates(tmp_path, image_folder):
    p = Project.create(tmp_path / "p.dips", image_folder)
    import_images(p)
    n = p.images.count()
    make_image(image_folder / "site" / "new.png")
    os.remove(image_folder / "no_site" / "n0.png")
    report = import_images(p)
    assert report.added == 1 and report.missing == ["no_site/n0.png"]
    assert p.images.count() == n + 1
    assert p.images.by_path("no_site/n0.png").missing
    make_image(image_folder / "no_site" / "n0.png", color=(60, 90, 60))
    report = import_images(p)
    assert report.added == 0 and report.restored == 1 and not p.images.by_path("no_site/n0.png").missing
    p.close()


def test_csv_layout(tmp_path):
    root = tmp_path / "flat"
    for i in range(4):
        make_image(root / f"img{i}.png")
    (root / "labels.csv").write_text("path,class\nimg0.png,site\nimg1.png,site\nimg2.png,no_site\nghost.png,site\n"
                                     "img3.png\n")
    p = Project.create(tmp_path / "p.dips", root)
    report = import_images(p, csv_path=root / "labels.csv")
    assert report.added == 3
    assert ("ghost.png", "listed in the CSV but not found") in report.skipped
    assert any("labels.csv:6" in s for s, _ in report.skipped)
    assert p.images.by_path("img2.png").class_id == p.class_id("no_site", create=False)
    p.close()


def test_split_is_stratified_deterministic_and_stable():
    new = [(f"a{i}.jpg", 1) for i in range(20)] + [(f"b{i}.jpg", 2) for i in range(10)]
    cfg = SplitConfig(0.6, 0.2, 0.2, seed=3)
    s1 = assign_splits([], new, cfg)
    assert s1 == assign_splits([], list(reversed(new)), cfg)
    a = [s1[f"a{i}.jpg"] for i in range(20)]
    assert (a.count("train"), a.count("val"), a.count("test")) == (12, 4, 4)
    b = [s1[f"b{i}.jpg"] for i in range(10)]
    assert (b.count("train"), b.count("val"), b.count("test")) == (6, 2, 2)
    existing = [(k, 1 if k.startswith("a") else 2, v) for k, v in s1.items()]
    more = assign_splits(existing, [(f"a{i}.jpg", 1) for i in range(20, 25)], cfg)
    assert list(more.values()).count("train") == 3
    assert assign_splits([], new, SplitConfig(0.6, 0.2, 0.2, seed=4)) != s1


def test_killed_import_leaves_a_consistent_project(tmp_path):
    root = tmp_path / "many"
    rng = np.random.default_rng(0)
    for i in range(1200):
        d = root / ("site" if i % 2 else "no_site")
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(d / f"{i:05d}.png")
    proj = tmp_path / "p.dips"
    Project.create(proj, root).close()
    code = ("import sys; from core.store.project import Project; from core.data.importer import import_images;"
            "from core.progress import Progress;"
            "p = Project.open(sys.argv[1]);"
            "import_images(p, progress=Progress(lambda e: print(e.done, flush=True)), workers=1)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(proj)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    for line in proc.stdout:
        if int(line.split()[0]) >= 600 or time.time() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(proj)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n_committed = con.execute("SELECT count(*) FROM images").fetchone()[0]
    con.close()
    assert 0 < n_committed < 1200
    p = Project.open(proj)
    report = import_images(p)
    assert p.images.count() == 1200 and report.added == 1200 - n_committed
    assert p.images.count(ImageFilter(split="train")) > 0
    p.close()


def test_rescan_reads_only_files_that_changed(tmp_path, image_folder, monkeypatch):
    from core.data import importer
    p = Project.create(tmp_path / "p.dips", image_folder)
    first = dict(import_images(p).skipped)
    n = p.images.count()
    reads = []
    real = importer.inspect_image
    monkeypatch.setattr(importer, "inspect_image", lambda path: reads.append(Path(path).name) or real(path))
    report = import_images(p)
    assert reads == [] and report.unchanged == n and report.updated == 0
    # files that failed to decode are not decoded again while unchanged: skipped with the reason they failed for
    bad = sorted(Path(path).name for path, why in report.skipped if "unchanged since it last failed" in why)
    assert bad == ["broken.jpg", "text.png", "truncated.jpg"]
    assert dict(report.skipped)["site/truncated.jpg"] == (f"{first['site/truncated.jpg']} (unchanged since it last "
                                                          "failed: not read again; --retry-unreadable reads it)")
    changed = image_folder / "site" / "a.jpg"
    old_hash = p.images.by_path("site/a.jpg").content_hash
    make_image(changed, color=(10, 200, 10))
    st = changed.stat()
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))   # a later save
    report = import_images(p)
    assert reads == ["a.jpg"] and report.updated == 1 and report.unchanged == n - 1
    assert p.images.by_path("site/a.jpg").content_hash != old_hash
    reads.clear()
    assert import_images(p, rehash=True).unchanged == n and len(reads) == n + len(bad)   # --rehash: all
    reads.clear()
    import_images(p, retry_unreadable=True)                                # --retry-unreadable: the failed ones
    assert sorted(reads) == bad
    reads.clear()
    good = image_folder / "site" / "truncated.jpg"             # repaired: a new size and time, read at once
    make_image(good, color=(30, 30, 200))
    report = import_images(p)
    assert reads == ["truncated.jpg"] and report.added == 1 and p.images.by_path("site/truncated.jpg") is not None
    p.close()


def test_a_known_image_broken_since_its_import_is_kept_and_the_report_says_so(project):
    from core.data.importer import import_images
    broken = project.image_root / "site" / "a.jpg"
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    report = import_images(project)
    (reason,) = [why for path, why in report.skipped if path == "site/a.jpg"]
    assert reason.endswith("(changed since it was imported: the project keeps the image as it was)")
    assert project.images.by_path("site/a.jpg") is not None
