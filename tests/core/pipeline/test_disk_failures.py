"""A full disk or a read-only project through the command line: one 'error:' line in plain words, exit 2,
no temporary files left in the work folder, and what was stored before is kept."""
from __future__ import annotations

import errno

import numpy as np
from sqlalchemy import event

from main import main


def test_full_disk_during_attention(tiny_pipeline, monkeypatch, capsys):
    project, _ = tiny_pipeline
    real_save = np.save
    calls = [0]

    def save_until_full(fh, array, *a, **k):
        calls[0] += 1
        if calls[0] > 4:                       # a few entries fit, then the disk fills mid-write
            fh.write(b"\x93NUMPY partial")
            raise OSError(errno.ENOSPC, "No space left on device", getattr(fh, "name", None))
        return real_save(fh, array, *a, **k)

    monkeypatch.setattr("core.train.feature_cache.np.save", save_until_full)
    assert main(["attention", str(project.path)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].endswith(": not saved: the disk is full") and "Traceback" not in err
    assert list(project.work_dir.rglob("*.tmp")) == []
    assert len(list(project.work_dir.rglob("*.npy"))) == 4      # the entries written before stay whole
    for f in project.work_dir.rglob("*.npy"):
        np.load(f)


def test_read_only_project_import_coco(tmp_path, project, capsys, monkeypatch):
    from core.store import db

    make_engine = db.make_engine

    def read_only_engine(path):
        engine = make_engine(path)
        event.listen(engine, "connect", lambda con, _rec: con.execute("PRAGMA query_only=ON"))
        return engine

    a = project.images.by_path("site/a.jpg")
    coco = tmp_path / "boxes.json"
    assert main(["export", str(project.path), "--out", str(coco)]) == 0
    import json
    data = json.loads(coco.read_text())
    image_id = next(i["id"] for i in data["images"] if i["file_name"] == "site/a.jpg")
    data["annotations"] = [{"id": 1, "image_id": image_id, "category_id": a.class_id, "bbox": [1, 1, 5, 5]}]
    coco.write_text(json.dumps(data))
    capsys.readouterr()
    monkeypatch.setattr(db, "make_engine", read_only_engine)
    assert main(["import-coco", str(project.path), str(coco)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {project.path}: not saved: the project file is read-only"
    assert project.boxes.all() == []
