"""`evaluate --metadata` says what became of every listed image: evaluated, not found, outside the split."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.pipeline import evaluate
from main import main


def _metadata(folder, lines):
    folder.mkdir()
    (folder / "image_ids.txt").write_text("".join(f"{p}\n" for p, _ in lines))
    (folder / "class_labels.txt").write_text("".join(f"{p},0\n" for p, _ in lines))
    (folder / "localization.txt").write_text("".join(f"{p},{b}\n" for p, b in lines))
    return folder


@pytest.fixture
def scored(project):
    a, b, n0 = (project.images.by_path(p) for p in ("site/a.jpg", "site/sub/b.png", "no_site/n0.png"))
    for img, split in ((a, "test"), (b, "test"), (n0, "train")):
        project.images.set_split(img.id, split)
    run = project.maps.new_prediction_run(None, {})
    for img in (a, b, n0):
        fg = np.zeros((img.height, img.width), np.float32)
        fg[10:30, 10:30] = 0.9
        project.maps.save_prediction(run, img.id, [0.2, 0.8], fg, [])
    return project


def test_metadata_report_counts_listed_evaluated_not_found_and_outside(scored, tmp_path, capsys):
    meta = _metadata(tmp_path / "meta", [("site/a.jpg", "10,10,30,30"), ("site\\sub\\b.png", "40,30,60,45"),
                                         ("no_site/n0.png", "1,1,5,5"), ("site/ghost.jpg", "1,1,5,5")])
    result = evaluate(scored, split="test", metadata=meta)
    assert result["n_images"] == 2
    assert result["metadata"]["not_found"] == ["site/ghost.jpg"]
    assert result["metadata"]["outside_split"] == ["no_site/n0.png"]
    out = tmp_path / "r.json"
    scored.close()
    assert main(["evaluate", str(scored.path), "--metadata", str(meta), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert ("4 listed, 2 evaluated; not found: site/ghost.jpg; outside the 'test' split: no_site/n0.png"
            in text)
    assert json.loads(out.read_text())["metadata"]["evaluated"] == 2
    assert main(["evaluate", str(scored.path), "--split", "all", "--metadata", str(meta)]) == 0
    assert "4 listed, 3 evaluated; not found: site/ghost.jpg\n" in capsys.readouterr().out


def test_metadata_matching_nothing_is_an_error(scored, tmp_path, capsys):
    meta = _metadata(tmp_path / "meta", [("other/x.jpg", "1,1,5,5"), ("no_site/n0.png", "1,1,5,5")])
    with pytest.raises(ValueError, match="none of the 2 images listed in image_ids.txt is in the 'test' split"):
        evaluate(scored, split="test", metadata=meta)
    scored.close()
    assert main(["evaluate", str(scored.path), "--metadata", str(meta)]) == 2
    assert "1 not found, 1 outside the split" in capsys.readouterr().err
