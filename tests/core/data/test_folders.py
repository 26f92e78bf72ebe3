"""Real folders: moved and renamed files, linked folders, paths that leave the root, unreadable folders,
and a class count that counts what was imported."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import tifffile

from core.data.importer import ImportError_, import_images
from core.store.project import Project
from tests.conftest import make_image


def _tower_folder(root):
    for i in range(4):
        make_image(root / "tower" / f"IMG_{i:04d}.jpg", color=(100 + 30 * i, 90, 60))
    for i in range(2):
        make_image(root / "no_site" / f"N_{i}.png", color=(20, 20 + 50 * i, 200))
    return root


def test_moved_and_renamed_files_keep_their_work(tmp_path):
    root = _tower_folder(tmp_path / "images")
    p = Project.create(tmp_path / "p.dips", root)
    import_images(p)
    a, b = p.images.by_path("tower/IMG_0000.jpg"), p.images.by_path("tower/IMG_0001.jpg")
    tower = p.class_id("tower", create=False)
    p.boxes.add(a.id, (1, 2, 30, 40), tower)
    p.images.set_review(a.id, "verified")
    p.images.set_flagged(b.id, True)
    p.images.set_split(b.id, "test")
    p.maps.save_attention(a.id, "vit@448", np.ones((2, 4, 4), np.float32))
    n = p.images.count()
    (root / "tower" / "flight_2024-06").mkdir()
    shutil.move(root / "tower" / "IMG_0000.jpg", root / "tower" / "flight_2024-06" / "IMG_0000.jpg")
    os.rename(root / "tower" / "IMG_0001.jpg", root / "tower" / "renamed.jpg")
    report = import_images(p)
    assert report.moved == 2 and report.added == 0 and report.missing == []
    assert "moved 2" in report.summary()
    assert p.images.count() == n and p.images.by_path("tower/IMG_0000.jpg") is None
    moved = p.images.by_path("tower/flight_2024-06/IMG_0000.jpg")
    renamed = p.images.by_path("tower/renamed.jpg")
    assert moved.id == a.id and renamed.id == b.id and not moved.missing
    assert [bx.xyxy for bx in p.boxes.list(moved.id)] == [(1, 2, 30, 40)]
    assert moved.review == "verified" and renamed.flagged and renamed.split == "test"
    assert set(p.maps.attention(moved.id)) == {-1, 0, 1}      # two heads and their mean
    # a file that was flagged missing earlier and comes back under another name is found again, too
    os.rename(root / "no_site" / "N_0.png", tmp_path / "away.png")
    assert import_images(p).missing == ["no_site/N_0.png"]
    os.rename(tmp_path / "away.png", root / "no_site" / "back.png")
    report = import_images(p)
    assert report.moved == 1 and report.missing == [] and not p.images.by_path("no_site/back.png").missing
    # moved into another class folder: the folder is the label
    n1 = p.images.by_path("no_site/N_1.png")
    os.rename(root / "no_site" / "N_1.png", root / "tower" / "N_1.png")
    assert import_images(p).moved == 1
    assert p.images.by_path("tower/N_1.png").id == n1.id and p.images.by_path("tower/N_1.png").class_id == tower


def test_class_counts_count_only_imported_files(tmp_path):
    root = _tower_folder(tmp_path / "images")
    for i in range(4):
        (root / "tower" / f"bad{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0corrupt")
    (root / "multi").mkdir()
    tifffile.imwrite(root / "multi" / "ms.tif", np.zeros((8, 8, 5), np.uint8), photometric="minisblack",
                     planarconfig="contig")
    p = Project.create(tmp_path / "p.dips", root)
    report = import_images(p)
    assert report.classes == {"no_site": 2, "tower": 4}
    assert "classes: no_site (2), tower (4)" in report.summary()
    assert ("multi/ms.tif", "5-band image: only 1-, 3- and 4-channel images are supported") in report.skipped
    assert sorted(c.name for c in p.classes()) == ["no_site", "tower"]      # no class of refused files only


def test_linked_sub_folder_is_followed_and_a_loop_is_not_a_class(tmp_path):
    root = _tower_folder(tmp_path / "images")
    elsewhere = tmp_path / "elsewhere"
    for i in range(3):
        make_image(elsewhere / f"F2_{i}.jpg", color=(10 * i, 200, 10))
    (root / "tower" / "flight2").symlink_to(elsewhere, target_is_directory=True)
    (root / "loop").symlink_to(".", target_is_directory=True)             # ln -s . images/loop
    (root / "tower" / "again").symlink_to("../tower", target_is_directory=True)
    (root / "no_site" / "same.png").symlink_to("N_0.png")                 # a file link: the same file
    (root / "no_site" / "A_first.png").symlink_to("N_1.png")              # listed before its target
    p = Project.create(tmp_path / "p.dips", root)
    report = import_images(p)
    assert report.added == 4 + 2 + 3
    assert p.images.by_path("tower/flight2/F2_0.jpg").class_id == p.class_id("tower", create=False)
    assert sorted(c.name for c in p.classes()) == ["no_site", "tower"]
    text = report.summary()
    assert "link loop -> .: leads to the image folder itself, already scanned; not followed" in text
    assert "link tower/again -> ../tower: leads to tower, already scanned; not followed" in text
    assert ("no_site/same.png", "same file as no_site/N_0.png (a link); imported once") in report.skipped
    assert ("no_site/A_first.png", "same file as no_site/N_1.png (a link); imported once") in report.skipped
    assert all(not r.rel_path.startswith("loop/") for r in p.images.list())


def test_a_link_into_the_root_can_be_a_class_folder_once(tmp_path):
    root = tmp_path / "images"
    make_image(root / "store" / "t1.jpg")
    (root / "tower").symlink_to("store", target_is_directory=True)
    p = Project.create(tmp_path / "p.dips", root)
    report = import_images(p)
    assert report.added == 1 and [c.name for c in p.classes()] == ["store"]
    assert any("link tower -> store" in w for w in report.warnings)


def test_csv_paths_are_resolved_and_never_leave_the_root(tmp_path):
    root = tmp_path / "flat"
    make_image(root / "sub" / "a.jpg")
    make_image(root / ".hidden.jpg")
    make_image(tmp_path / "outside" / "secret.jpg")
    make_image(tmp_path / "x.jpg")
    (root / "labels.csv").write_text(
        "path,class\n"
        "sub/../../outside/secret.jpg,site\n"
        "../x.jpg,site\n"
        f"{tmp_path / 'outside' / 'secret.jpg'},site\n"
        ".hidden.jpg,site\n"
        "./sub/./a.jpg,no_site\n"
        "sub\\a.jpg,no_site\n")
    p = Project.create(tmp_path / "p.dips", root)
    report = import_images(p, csv_path=root / "labels.csv")
    assert sorted(r.rel_path for r in p.images.list()) == [".hidden.jpg", "sub/a.jpg"]
    refused = [(path, reason) for path, reason in report.skipped if "outside the image folder" in reason]
    assert len(refused) == 3
    assert any("listed twice" in w for w in report.warnings)                # sub\a.jpg is sub/a.jpg


def _deny(monkeypatch, *denied):
    """Make os.scandir refuse the given folders, as for a user without read permission (tests run as root)."""
    real = os.scandir
    denied = {os.path.realpath(d) for d in denied}

    def scandir(path="."):
        if os.path.realpath(path) in denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_class_folder_is_reported_and_its_images_kept(tmp_path, monkeypatch):
    root = _tower_folder(tmp_path / "images")
    p = Project.create(tmp_path / "p.dips", root)
    import_images(p)
    n = p.images.count()
    _deny(monkeypatch, root / "tower")
    report = import_images(p)
    assert report.unreadable == ["tower"] and report.missing == []
    assert "cannot read folder tower" in report.summary()
    assert not any("has no images" in w for w in report.warnings)
    assert p.images.count() == n and not any(r.missing for r in p.images.list())


def test_unreadable_image_root_is_a_clear_error(tmp_path, monkeypatch):
    root = _tower_folder(tmp_path / "images")
    p = Project.create(tmp_path / "p.dips", root)
    _deny(monkeypatch, root)
    with pytest.raises(ImportError_, match="cannot read the image folder"):
        import_images(p)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its mode; the monkeypatched "
                                               "test above covers the same path")
def test_unreadable_class_folder_by_permissions(tmp_path):
    root = _tower_folder(tmp_path / "images")
    p = Project.create(tmp_path / "p.dips", root)
    import_images(p)
    (root / "tower").chmod(0)
    try:
        report = import_images(p)
    finally:
        (root / "tower").chmod(0o755)
    assert report.unreadable == ["tower"] and report.missing == []


def test_a_rescan_corrects_a_rotated_tiff_recorded_in_the_wrong_frame(tmp_path):
    from PIL import Image
    root = tmp_path / "images"
    (root / "tower").mkdir(parents=True)
    ex = Image.Exif()
    ex[274] = 6
    Image.fromarray(np.zeros((40, 64, 3), np.uint8)).save(root / "tower" / "r.tif", exif=ex.tobytes())
    p = Project.create(tmp_path / "p.dips", root)
    import_images(p)
    rec = p.images.by_path("tower/r.tif")
    assert (rec.width, rec.height) == (40, 64)
    with p.transaction() as s:           # what the earlier importer wrote: the size swapped a second time
        from core.store.schema import ImageRow
        row = s.get(ImageRow, rec.id)
        row.width, row.height = 64, 40
    report = import_images(p)
    assert report.updated == 1
    assert (p.images.by_path("tower/r.tif").width, p.images.by_path("tower/r.tif").height) == (40, 64)
    assert import_images(p).unchanged == 1
