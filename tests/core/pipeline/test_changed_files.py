"""An image file replaced on disk after import (a re-export: new pixels, new size or modification time) is read again
by the next stage: its maps, features and proposals are made from the new file, never the old one's, and its curated
boxes are kept. Unchanged files cost a stat, never a decode."""
from __future__ import annotations

import json

import numpy as np

from core.cli import run_cli
from core.pipeline import compute_attention, compute_proposals
from core.pipeline.encoding import feature_cache
from tests.conftest import make_image


def _replace(project, rel_path: str, **kwargs) -> None:
    """Overwrite an image file with other pixels (a re-export)."""
    make_image(project.image_root / rel_path, **kwargs)


def test_a_replaced_file_gets_new_maps_features_and_proposals_and_keeps_its_curated_box(tiny_prepared, capsys):
    project, cfg = tiny_prepared
    rec = project.images.by_path("site/a.jpg")
    box = project.boxes.add(rec.id, (10, 10, 30, 30), rec.class_id)
    old_map = project.maps.attention(rec.id, cfg.backbone_key)[-1]
    old_props = [p.xyxy for p in project.proposals.list(rec.id)]
    assert old_props

    _replace(project, "site/a.jpg", color=(10, 20, 200), square=(0, 0, 20, 48, (250, 250, 0)))
    assert run_cli(["attention", str(project.path)]) == 0
    err = capsys.readouterr().err
    assert ("re-read site/a.jpg: the file changed since it was read (new content): "
            "the old file's maps, features, proposals and predicted boxes are dropped, to be made again from the "
            "new one; "
            "its curated boxes are kept") in err.splitlines()
    assert "attention maps for 1 image" in err

    now = project.images.by_path("site/a.jpg")
    assert now.content_hash != rec.content_hash                      # the new file's, not the old one's
    assert feature_cache(project, cfg).has(now.content_hash)        # features of the new file
    new_map = project.maps.attention(rec.id, cfg.backbone_key)[-1]
    assert not np.allclose(new_map, old_map)                         # a map of the new pixels
    assert project.proposals.list(rec.id) == []                      # the old file's proposals are gone ...
    assert [b.id for b in project.boxes.list(rec.id)] == [box.id]    # ... the curated box stays, where it was
    assert project.boxes.list(rec.id)[0].xyxy == box.xyxy

    assert compute_proposals(project, cfg) == 1                      # ... and made again for that image alone
    assert project.proposals.list(rec.id)


def test_unchanged_files_are_not_read_again_and_a_same_content_touch_only_updates_the_stamp(tiny_prepared,
                                                                                          monkeypatch):
    project, cfg = tiny_prepared
    from core.data import changed_files
    reads: list[str] = []
    real = changed_files.inspect_image
    monkeypatch.setattr(changed_files, "inspect_image", lambda path: reads.append(path.name) or real(path))

    assert compute_attention(project, cfg) == 0 and reads == []      # a stat per image, no decode
    rec = project.images.by_path("site/sub/b.png")
    path = project.image_root / rec.rel_path
    st = path.stat()
    import os
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))   # saved again, same pixels
    assert compute_attention(project, cfg) == 0 and reads == ["b.png"]      # read once, nothing to recompute
    assert project.proposals.list(rec.id)                                    # its proposals are still good
    reads.clear()
    assert compute_attention(project, cfg) == 0 and reads == []             # the new stamp is remembered


def test_train_and_predict_read_a_replaced_file_again_without_running_attention(tiny_prepared, capsys):
    project, cfg = tiny_prepared
    from core.pipeline import predict, train
    rec = project.images.by_path("site/a.jpg")
    _replace(project, "site/a.jpg", size=(80, 40), color=(200, 30, 30))   # a re-export at another size
    box = project.boxes.add(rec.id, (8, 6, 24, 18), rec.class_id)         # curated on the old 64 x 48 file
    run = train(project, cfg)
    now = project.images.by_path("site/a.jpg")
    assert (now.width, now.height) == (80, 40) and now.content_hash != rec.content_hash
    assert feature_cache(project, cfg).has(now.content_hash)
    # the box keeps its place on the picture: scaled with the image (x 80/64, y 40/48)
    assert project.boxes.list(rec.id)[0].xyxy == (10.0, 5.0, 30.0, 15.0) and project.boxes.list(rec.id)[0].id == box.id
    pred = predict(project, run, cfg=cfg)
    assert rec.id in project.maps.image_ids_with_prediction(pred)


def test_a_replaced_file_drops_the_old_files_predicted_boxes(tiny_prepared):
    project, cfg = tiny_prepared
    from core.pipeline import predict, train
    run = train(project, cfg)
    pred = predict(project, run, cfg=cfg)
    rec = project.images.by_path("site/a.jpg")
    assert rec.id in project.maps.image_ids_with_prediction(pred)
    _replace(project, "site/a.jpg", color=(10, 20, 200))
    compute_attention(project, cfg)
    assert rec.id not in project.maps.image_ids_with_prediction(pred)    # drawn on the old pixels: not offered


def test_run_names_the_replaced_file_and_predicts_it_again(tiny_prepared, capsys):
    project, cfg = tiny_prepared
    assert run_cli(["run", str(project.path)]) == 0
    capsys.readouterr()
    _replace(project, "site/a.jpg", color=(10, 20, 200))
    assert run_cli(["run", str(project.path)]) == 0
    out = capsys.readouterr().out
    assert ("re-read         site/a.jpg: the file changed since it was read (new content): "
            "the old file's maps, features, proposals and predicted boxes are dropped, to be made again from the "
            "new one; "
            "its curated boxes are kept") in out.splitlines()
    assert "attention maps  1 image computed" in out
    rec = project.images.by_path("site/a.jpg")
    assert rec.id in project.maps.image_ids_with_prediction(project.maps.latest_run_id())


def test_a_rescan_that_finds_new_content_drops_the_old_maps_and_proposals_too(tiny_prepared):
    project, cfg = tiny_prepared
    from core.data.importer import import_images
    rec = project.images.by_path("site/a.jpg")
    box = project.boxes.add(rec.id, (10, 10, 30, 30), rec.class_id)
    _replace(project, "site/a.jpg", color=(10, 20, 200))
    assert import_images(project).updated == 1
    assert project.maps.attention(rec.id, cfg.backbone_key) == {} and project.proposals.list(rec.id) == []
    assert [b.xyxy for b in project.boxes.list(rec.id)] == [box.xyxy]
    assert compute_attention(project, cfg) == 1 and compute_proposals(project, cfg) == 1


def test_a_replaced_file_that_no_longer_decodes_is_skipped_by_name(tiny_prepared, capsys):
    project, _ = tiny_prepared
    path = project.image_root / "site" / "a.jpg"
    path.write_bytes(path.read_bytes()[:200])
    assert run_cli(["proposals", str(project.path)]) == 0
    err = capsys.readouterr().err
    assert ("skipped site/a.jpg: unreadable (truncated or corrupt image data); not decoded again until the file "
            "changes") in err.splitlines()


def test_a_file_replaced_at_another_size_says_its_boxes_were_scaled(tiny_prepared, capsys):
    project, _ = tiny_prepared
    rec = project.images.by_path("site/a.jpg")
    project.boxes.add(rec.id, (8, 6, 24, 18), rec.class_id)               # curated on the 64 x 48 file
    _replace(project, "site/a.jpg", size=(80, 40), color=(200, 30, 30))
    assert run_cli(["attention", str(project.path)]) == 0
    assert ("re-read site/a.jpg: the file changed since it was read (new content): "
            "the old file's maps, features, proposals and predicted boxes are dropped, to be made again from the "
            "new one; "
            "its curated boxes are kept, scaled with the image from 64 x 48 to "
            "80 x 40 px") in capsys.readouterr().err.splitlines()
    assert project.boxes.list(rec.id)[0].xyxy == (10.0, 5.0, 30.0, 15.0)

    _replace(project, "site/a.jpg", size=(64, 32), color=(20, 200, 30))  # again, and this time through run --json
    assert run_cli(["run", str(project.path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reread"] == ["site/a.jpg"] and out["resized"] == {"site/a.jpg": [[80, 40], [64, 32]]}


def test_run_json_names_each_unreadable_image_with_its_reason(tiny_prepared, capsys):
    project, _ = tiny_prepared
    path = project.image_root / "site" / "a.jpg"
    path.write_bytes(path.read_bytes()[:200])
    assert run_cli(["run", str(project.path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["skipped_unreadable"] == {"site/a.jpg": "truncated or corrupt image data"}   # as the summary's line


def test_train_alone_says_that_a_replaced_file_taught_no_box_and_what_makes_its_proposals(tiny_prepared, capsys):
    project, _ = tiny_prepared
    _replace(project, "site/a.jpg", color=(10, 20, 200))    # its proposals go with the old pixels
    assert run_cli(["train", str(project.path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert ("note: 1 training image of object classes has no proposals or curated boxes, so it taught the classifier "
            "but no boxes: run 'proposals', then train again (or 'run', which does both)") in err
    assert run_cli(["run", str(project.path), "--json"]) == 0               # what the note promises
    out = json.loads(capsys.readouterr().out)
    assert out["proposals"] == 1 and out["trained"] is True
    assert run_cli(["train", str(project.path)]) == 0
    assert not [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]


def test_a_rescan_names_each_file_whose_content_changed_as_the_stages_do(tiny_prepared, capsys):
    """import-images said only 'updated 1': which file, and that its maps went and its boxes were scaled, was left
    to guess. It prints the stages' line for each."""
    project, _ = tiny_prepared
    _replace(project, "site/a.jpg", size=(80, 40), color=(10, 20, 200))
    assert run_cli(["import-images", str(project.path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("added 0, unchanged ") and ", updated 1," in out[0]
    assert ("re-read site/a.jpg: the file changed since it was read (new content): "
            "the old file's maps, features, proposals and predicted boxes are dropped, to be made again from the "
            "new one; "
            "its curated boxes are kept, scaled with the image from 64 x 48 "
            "to 80 x 40 px") in out
