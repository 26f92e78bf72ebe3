"""An image that fails to decode is recorded with its reason and not decoded again on the next run or reopen, until
its file changes or the user asks (attention --retry-unreadable)."""
from __future__ import annotations

import os

from core.cli import run_cli
from core.pipeline import unfinished_stages
from tests.conftest import make_image

INFO_LABELS = {"project", "images", "missing", "unreadable", "refused", "classes", "splits", "review", "boxes",
               "gt boxes", "proposals", "training", "predicted", "warning"}


def assert_info_columns_line_up(info: str) -> None:
    """Every labelled line of ``info`` (the others are indented details) has its value in the same column."""
    labelled = [line for line in info.splitlines() if not line.startswith(" ")]
    assert len(labelled) >= 9
    columns = set()
    for line in labelled:
        label = next(name for name in sorted(INFO_LABELS, key=len, reverse=True) if line.startswith(name + " "))
        columns.add(len(line) - len(line[len(label):].lstrip(" ")))     # where the value starts
    assert columns == {11}, info


def _count_decodes(monkeypatch) -> list[str]:
    """The paths decoded, in order: by the stages, and by the check of files changed since they were read
    (core/data/changed_files.py: a changed stamp is read once to learn the file's new content)."""
    from core.data import changed_files
    from core.pipeline import encoding
    reads: list[str] = []
    real, real_inspect = encoding.load_rgb, changed_files.inspect_image

    def counted(project, rec, max_side):
        reads.append(rec.rel_path)
        return real(project, rec, max_side)

    def inspected(path):
        reads.append(path.relative_to(path.parents[1]).as_posix())
        return real_inspect(path)
    monkeypatch.setattr(encoding, "load_rgb", counted)
    monkeypatch.setattr(changed_files, "inspect_image", inspected)
    return reads


def test_an_image_that_fails_to_decode_is_not_decoded_again_until_its_file_changes(tiny_pipeline, monkeypatch,
                                                                                   capsys):
    project, _ = tiny_pipeline
    broken = project.image_root / "site" / "a.jpg"     # imported whole, broken on disk since
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    reads = _count_decodes(monkeypatch)
    assert run_cli(["attention", str(project.path)]) == 0
    err = capsys.readouterr().err
    assert reads.count("site/a.jpg") == 1 and "attention maps for 6 images" in err
    reason = next(line for line in err.splitlines() if line.startswith("  site/a.jpg: "))
    assert "unreadable: 1 image skipped, not decoded again until the file changes:" in err
    assert ("  to read them again: fix or replace the file (a new size or modification time retries it), or: "
            "attention --retry-unreadable (reads these images again)") in err

    # the window's resume on reopening, and the next run, leave it alone; both still say why
    assert "attention" not in unfinished_stages(project)
    reads.clear()
    assert run_cli(["attention", str(project.path)]) == 0
    err = capsys.readouterr().err
    assert reads == [] and "attention maps for 0 images" in err and reason in err.splitlines()
    assert run_cli(["info", str(project.path)]) == 0
    info = capsys.readouterr().out
    assert "unreadable 1 image skipped, not decoded again until the file changes:" in info and reason in info
    assert_info_columns_line_up(info)

    # asked for: read again though unchanged (and recorded again, as it still fails)
    assert run_cli(["attention", str(project.path), "--retry-unreadable"]) == 0
    err = capsys.readouterr().err
    assert reads == ["site/a.jpg"] and "reading 1 image that failed to decode before again" in err
    # the files the importer refused are not its to read: it says which command reads them
    assert ("  3 files the importer refused: not images of the project yet; import-images --retry-unreadable reads "
            "them") in err
    assert run_cli(["info", str(project.path)]) == 0
    assert "refused    3 files that failed to decode at import" in capsys.readouterr().out
    assert reason in err.splitlines()
    assert "  read again just now and still failing: fix or replace the file" in err   # not: run what you just ran
    assert "or: attention --retry-unreadable" not in err

    # repaired: a new size and time, so it is read without asking, and forgotten
    reads.clear()
    make_image(broken, square=(10, 10, 30, 30, (255, 0, 0)))
    st = broken.stat()
    os.utime(broken, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert "attention" in unfinished_stages(project)
    assert run_cli(["attention", str(project.path)]) == 0
    err = capsys.readouterr().err
    # read to learn its content (whole again), then encoded
    assert reads == ["site/a.jpg", "site/a.jpg"] and "attention maps for 1 image\n" in err and "unreadable" not in err
    assert run_cli(["info", str(project.path)]) == 0
    assert "\nunreadable " not in capsys.readouterr().out


def test_an_image_broken_after_its_maps_were_made_is_not_proposed_on_again(tiny_pipeline, monkeypatch, capsys):
    from core.pipeline import compute_attention, compute_proposals, proposal_stage
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    broken = project.image_root / "site" / "a.jpg"
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    reads = _count_decodes(monkeypatch)
    real = proposal_stage.load_rgb
    monkeypatch.setattr(proposal_stage, "load_rgb",
                        lambda project, rec, max_side: reads.append(rec.rel_path) or real(project, rec, max_side))
    compute_proposals(project, cfg)
    assert reads.count("site/a.jpg") == 1
    site = project.images.by_path("site/a.jpg")
    assert project.proposals.list(site.id) == []
    assert unfinished_stages(project, cfg) == []        # reopening the window does not try it again
    reads.clear()
    assert compute_proposals(project, cfg) == 0 and reads == []
    assert run_cli(["info", str(project.path)]) == 0
    assert "  site/a.jpg: " in capsys.readouterr().out


def _all_train_with_a_broken_image(tiny_pipeline):
    """Every image in the training split; site/a.jpg truncated before attention and proposals ran (recorded)."""
    from core.pipeline import compute_attention, compute_proposals
    project, cfg = tiny_pipeline
    for rec in project.images.list():
        project.images.set_split(rec.id, "train")
    broken = project.image_root / "site" / "a.jpg"
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    return project, cfg


def test_training_goes_on_without_an_image_that_failed_to_decode(tiny_pipeline, capsys):
    """`run` stopped with 'damaged cached features ... run the stage again' on an image attention had recorded as
    unreadable: it has no features, and running again could never make them."""
    from core.pipeline import train
    project, cfg = _all_train_with_a_broken_image(tiny_pipeline)
    run_id = train(project, cfg)
    run = project.runs.get(run_id)
    assert run.status == "finished" and run.metrics["final_loss"] is not None


def test_the_training_check_does_not_offer_to_compute_maps_for_an_image_that_failed_to_decode(tiny_pipeline):
    """Start training offered 'Compute attention maps and proposals first' for an image attention had recorded as
    unreadable: computing again skips it, so the offer could never be kept."""
    from core.pipeline.readiness import training_readiness
    project, cfg = _all_train_with_a_broken_image(tiny_pipeline)
    ready = training_readiness(project, cfg)
    assert ready.unreadable == 1 and ready.without_maps == 0
    assert "attention" not in ready.to_compute()      # no maps offered for the broken image
    assert ready.trainable == ready.object_images - ready.without_boxes - 1


def test_an_image_broken_after_training_is_left_out_of_the_next_training_and_prediction(tiny_prepared, capsys):
    """site/a.jpg breaks after its features were cached (they still are); once the project records it as failing
    to decode (the window does when it shows it), train and predict leave it out, each with one line naming it."""
    from core.data.unreadable import UNREADABLE_KEY, record_unreadable
    from core.pipeline import train
    from main import main
    project, cfg = tiny_prepared
    for rec in project.images.list():
        project.images.set_split(rec.id, "train")
    first = project.runs.get(train(project, cfg))
    broken = project.image_root / "site" / "a.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 garbage written over the photo")
    record_unreadable(project, "site/a.jpg", "truncated or corrupt image data")

    assert main(["train", str(project.path)]) == 0
    err = capsys.readouterr().err
    line = "skipped site/a.jpg: unreadable (truncated or corrupt image data); not decoded again until the file changes"
    assert line in err.splitlines()
    run = project.runs.latest_finished()
    assert run.metrics["n_train"] == first.metrics["n_train"] - 1      # one image fewer trained on
    assert run.metrics[UNREADABLE_KEY] == {"site/a.jpg": "truncated or corrupt image data"}

    assert main(["predict", str(project.path)]) == 0
    assert line in capsys.readouterr().err.splitlines()
    a, b = project.images.by_path("site/a.jpg"), project.images.by_path("site/sub/b.png")
    latest = max(r.id for r in project.maps.prediction_runs())
    assert project.maps.prediction(b.id, latest) is not None and project.maps.prediction(a.id, latest) is None


def test_run_predicts_again_once_an_image_the_prediction_left_out_is_repaired(tiny_prepared, capsys):
    """A prediction that left site/a.jpg out (its file was broken) is not up to date once the file is repaired:
    `run` predicts again and says why, and the repaired image gets its prediction."""
    from core.data.unreadable import record_unreadable
    from main import main
    project, cfg = tiny_prepared
    photo = project.image_root / "site" / "a.jpg"
    good = photo.read_bytes()
    photo.write_bytes(b"\xff\xd8\xff\xe0 garbage written over the photo")
    record_unreadable(project, "site/a.jpg", "truncated or corrupt image data")
    assert main(["run", str(project.path)]) == 0
    a = project.images.by_path("site/a.jpg")
    left_out = project.maps.latest_run_id()
    assert project.maps.prediction(a.id, left_out) is None
    assert main(["run", str(project.path)]) == 0                       # still broken: nothing to do
    assert "prediction      up to date" in capsys.readouterr().out
    assert project.maps.latest_run_id() == left_out

    photo.write_bytes(good)                                           # repaired: a new size and modification time
    assert main(["run", str(project.path)]) == 0
    out = capsys.readouterr().out
    assert (f"prediction      prediction run #{left_out} left out 1 unreadable image whose file changed since "
            "(site/a.jpg): predicting again to draw its boxes") in out
    # the training run that left it out did not learn it: said, instead of 'nothing new to learn from'
    trained = project.runs.latest_finished().id
    assert (f"training        none: no new maps or proposals since training run #{trained}; 1 image it left out as "
            "unreadable reads again now (site/a.jpg), which only a new training run learns (--retrain)"
            ) in out.splitlines()
    latest = project.maps.latest_run_id()
    assert latest != left_out and project.maps.prediction(a.id, latest) is not None
    assert main(["run", str(project.path)]) == 0
    assert "prediction      up to date" in capsys.readouterr().out


def test_run_names_each_unreadable_image_it_skips_as_train_and_predict_do(tiny_prepared, capsys):
    """`run` said only '2 images skipped ... (info names them)'; it prints the per-file lines of train and predict."""
    from core.data.unreadable import record_unreadable
    from main import main
    project, _ = tiny_prepared
    for rel in ("site/a.jpg", "site/sub/b.png"):
        (project.image_root / rel).write_bytes(b"\xff\xd8\xff\xe0 garbage written over the photo")
        record_unreadable(project, rel, "truncated or corrupt image data")
    assert main(["run", str(project.path)]) == 0
    out = capsys.readouterr().out.splitlines()
    for rel in ("site/a.jpg", "site/sub/b.png"):
        line = f"skipped {rel}: unreadable (truncated or corrupt image data); not decoded again until the file changes"
        assert out.count(line) == 1
    assert not any("info' names them" in line for line in out)
    assert main(["train", str(project.path)]) == 0     # the same words as train's
    err = capsys.readouterr().err.splitlines()
    skipped = [line for line in out if line.startswith("skipped ")]
    assert [line for line in err if line.startswith("skipped ")] == skipped
