"""`new` and `import-images` from the command line: a failed creation leaves nothing behind."""
from __future__ import annotations

import os

import pytest

from core.store.project import Project
from main import main
from tests.conftest import make_image


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_failed_new_leaves_no_file_and_the_retry_works(tmp_path, capsys):
    root = tmp_path / "images"
    (root / "tower").mkdir(parents=True)
    (root / "tower" / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    proj = tmp_path / "out" / "p.dips"
    proj.parent.mkdir()
    assert main(["new", str(proj), "--images", str(root)]) == 2
    out, err = capsys.readouterr()
    assert "no usable images found; no project was created" in err and "created" not in out
    assert "skipped tower/a.jpg: corrupt" in out or "skipped tower/a.jpg: truncated" in out
    assert _files(proj.parent) == []
    make_image(root / "tower" / "a.jpg")
    assert main(["new", str(proj), "--images", str(root)]) == 0
    assert f"created {proj}" in capsys.readouterr().out


def test_unreadable_image_root_is_one_error_line_and_no_file(tmp_path, capsys, monkeypatch):
    root = tmp_path / "images"
    make_image(root / "tower" / "a.jpg")
    real = os.scandir

    def scandir(path="."):
        if os.path.realpath(path) == str(root.resolve()):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    proj = tmp_path / "out" / "p.dips"
    proj.parent.mkdir()
    assert main(["new", str(proj), "--images", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read the image folder" in err[0] and err[0].startswith("error:")
    assert _files(proj.parent) == []


def test_project_whose_creation_fails_leaves_no_file(tmp_path, monkeypatch):
    from core.store import db
    (tmp_path / "images").mkdir()

    def broken(engine):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(db, "create_schema", broken)
    with pytest.raises(OSError):
        Project.create(tmp_path / "p.dips", tmp_path / "images")
    assert _files(tmp_path) == ["images"]


def test_a_file_the_importer_refused_is_read_again_by_import_images_retry_unreadable(tmp_path, capsys):
    """A file refused at import stays refused while unchanged; import-images --retry-unreadable reads it again (here:
    repaired without a new size or time, so a plain re-scan would not)."""
    root = tmp_path / "images"
    make_image(root / "tower" / "a.png")
    good = root / "tower" / "a.png"
    fixed = good.read_bytes()
    bad = root / "tower" / "b.png"
    bad.write_bytes(b"x" * len(fixed))                       # same size as the repaired copy will be
    proj = tmp_path / "p.dips"
    assert main(["new", str(proj), "--images", str(root)]) == 0
    assert "skipped tower/b.png" in capsys.readouterr().out
    assert main(["info", str(proj)]) == 0
    info = capsys.readouterr().out
    assert "refused    1 file that failed to decode at import" in info
    assert "  to read them again: fix or replace the file (a new size or modification time retries it), or: " \
           "import-images --retry-unreadable" in info

    st = bad.stat()
    bad.write_bytes(fixed)                                     # repaired in place, same size, time put back
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert main(["import-images", str(proj)]) == 0
    out = capsys.readouterr().out
    assert "not read again; --retry-unreadable reads it" in out
    assert main(["import-images", str(proj), "--retry-unreadable"]) == 0
    capsys.readouterr()
    with Project.open(proj) as p:
        assert p.images.by_path("tower/b.png") is not None
    assert main(["info", str(proj)]) == 0
    assert "refused" not in capsys.readouterr().out
