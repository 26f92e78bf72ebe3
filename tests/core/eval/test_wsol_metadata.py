"""Reading a wsolevaluation metadata folder, and the errors on malformed lines."""
import numpy as np
import pytest

from core.eval.wsol_metadata import MetadataError, read_wsol_metadata


def write(folder, **files):
    for name, text in files.items():
        (folder / f"{name}.txt").write_text(text)


GOOD = dict(
    image_ids="val/a.jpg\nval/b.jpg\n\n",
    class_labels="val/a.jpg,0\nval/b.jpg,3\n",
    localization="val/a.jpg,1,2,30,40\nval/a.jpg,50,60,70,80\nval/b.jpg,0.5,1.5,10.0,12.0\n",
)


def test_reads_ids_labels_and_several_boxes_per_image(tmp_path):
    write(tmp_path, **GOOD, image_sizes="val/a.jpg,100,80\nval/b.jpg,64,48\n")
    md = read_wsol_metadata(tmp_path)
    assert md.image_ids == ["val/a.jpg", "val/b.jpg"]
    assert md.class_labels == {"val/a.jpg": 0, "val/b.jpg": 3}
    assert md.boxes["val/a.jpg"] == [(1, 2, 30, 40), (50, 60, 70, 80)]
    boxes = md.gt_boxes()
    assert boxes[0].shape == (2, 4) and np.allclose(boxes[1], [[0.5, 1.5, 10, 12]])
    assert md.labels().tolist() == [0, 3]
    assert md.sizes() == [(100, 80), (64, 48)]


def test_image_sizes_are_optional_and_commas_in_paths_survive(tmp_path):
    write(tmp_path, image_ids="a,b.jpg\n", class_labels="a,b.jpg,1\n", localization="a,b.jpg,0,0,5,5\n")
    md = read_wsol_metadata(tmp_path)
    assert md.image_sizes is None and md.sizes() is None
    assert md.boxes == {"a,b.jpg": [(0, 0, 5, 5)]}


def test_malformed_box_line_names_file_and_line(tmp_path):
    write(tmp_path, **{**GOOD, "localization": "val/a.jpg,1,2,30,40\nval/b.jpg,1,2,x,4\n"})
    with pytest.raises(MetadataError, match=r"localization\.txt:2: x1 'x' is not a number"):
        read_wsol_metadata(tmp_path)


def test_other_malformed_inputs(tmp_path):
    write(tmp_path, **{**GOOD, "class_labels": "val/a.jpg,0\nval/b.jpg\n"})
    with pytest.raises(MetadataError, match=r"class_labels\.txt:2: expected 'path,label'"):
        read_wsol_metadata(tmp_path)
    write(tmp_path, **{**GOOD, "class_labels": "val/a.jpg,0\nval/b.jpg,1.5\n"})
    with pytest.raises(MetadataError, match=r"class_labels\.txt:2: class label '1.5' is not an integer"):
        read_wsol_metadata(tmp_path)
    write(tmp_path, **{**GOOD, "localization": "val/a.jpg,30,2,1,40\nval/b.jpg,0,0,1,1\n"})
    with pytest.raises(MetadataError, match=r"localization\.txt:1: box needs x0 <= x1"):
        read_wsol_metadata(tmp_path)
    write(tmp_path, **{**GOOD, "localization": "val/a.jpg,m.png,i.png\n"})
    with pytest.raises(MetadataError, match="mask line"):
        read_wsol_metadata(tmp_path)
    write(tmp_path, **{**GOOD, "localization": "val/a.jpg,1,2,30,40\n"})
    with pytest.raises(MetadataError, match="no box for 1 image.*val/b.jpg"):
        read_wsol_metadata(tmp_path)


def test_missing_file(tmp_path):
    write(tmp_path, image_ids="a\n")
    with pytest.raises(MetadataError, match=r"class_labels\.txt: file not found"):
        read_wsol_metadata(tmp_path)
