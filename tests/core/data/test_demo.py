"""The built-in demo data set: layout, determinism, COCO ground truth, masks."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.data.demo import CLASSES, DemoInfo, is_site_index, mask_box, write_demo

SIZE = (160, 120)  # (width, height): small so every test stays fast


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoInfo:
    return write_demo(tmp_path_factory.mktemp("demo"), n_images=6, size=SIZE, seed=0)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_folder_per_class_layout_and_info(demo: DemoInfo) -> None:
    assert demo.classes == CLASSES == ("site", "no_site")
    assert demo.n_images == 6
    assert demo.image_dir == demo.root / "images"
    assert demo.gt_path == demo.root / "ground_truth.json"
    site = sorted(p.name for p in (demo.image_dir / "site").iterdir())
    no_site = sorted(p.name for p in (demo.image_dir / "no_site").iterdir())
    assert site == ["site_0001.jpg", "site_0002.jpg", "site_0003.jpg"]
    assert no_site == ["no_site_0001.jpg", "no_site_0002.jpg", "no_site_0003.jpg"]
    assert sorted(p.name for p in demo.mask_dir.iterdir()) == ["site_0001.png", "site_0002.png", "site_0003.png"]


def test_images_have_the_requested_size(demo: DemoInfo) -> None:
    for p in demo.image_dir.rglob("*.jpg"):
        img = cv2.imread(str(p))
        assert img is not None, p
        assert img.shape == (SIZE[1], SIZE[0], 3)


def test_same_seed_gives_identical_bytes_and_other_seed_differs(demo: DemoInfo, tmp_path: Path) -> None:
    again = write_demo(tmp_path / "again", n_images=6, size=SIZE, seed=0)
    assert _files(again.root) == _files(demo.root)
    other = write_demo(tmp_path / "other", n_images=2, size=SIZE, seed=1)
    assert (other.image_dir / "site/site_0001.jpg").read_bytes() != (demo.image_dir / "site/site_0001.jpg").read_bytes()


def test_a_smaller_set_is_a_prefix_of_a_larger_one(demo: DemoInfo, tmp_path: Path) -> None:
    small = write_demo(tmp_path / "small", n_images=3, size=SIZE, seed=0)
    for rel in ("images/site/site_0001.jpg", "images/no_site/no_site_0001.jpg", "images/site/site_0002.jpg",
                "masks/site/site_0002.png"):
        assert (small.root / rel).read_bytes() == (demo.root / rel).read_bytes(), rel
    assert not (small.image_dir / "no_site/no_site_0002.jpg").exists()


def test_coco_ground_truth_loads_and_has_one_box_per_site_image(demo: DemoInfo) -> None:
    coco_mod = pytest.importorskip("pycocotools.coco")
    coco = coco_mod.COCO(str(demo.gt_path))
    assert {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())} == {1: "site", 2: "no_site"}
    assert sorted(coco.getImgIds()) == [1, 2, 3, 4, 5, 6]
    ann_ids = [a["id"] for a in coco.dataset["annotations"]]
    assert sorted(ann_ids) == list(range(1, len(ann_ids) + 1))
    for img in coco.loadImgs(coco.getImgIds()):
        assert (img["width"], img["height"]) == SIZE
        assert (demo.image_dir / img["file_name"]).is_file()   # relative to images/
        cls = img["file_name"].split("/")[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        if cls == "no_site":
            assert anns == []
            continue
        assert len(anns) == 1
        a = anns[0]
        x, y, w, h = a["bbox"]
        assert a["category_id"] == 1 and a["iscrowd"] == 0
        assert all(isinstance(v, float) for v in a["bbox"])
        assert w > 0 and h > 0 and a["area"] == pytest.approx(w * h)
        assert x >= 0 and y >= 0 and x + w <= SIZE[0] and y + h <= SIZE[1]
        assert w * h < 0.6 * SIZE[0] * SIZE[1]      # a site, not the whole view
        assert max(w, h) >= 0.05 * min(SIZE)         # and not a speck


def test_box_is_the_tight_box_of_the_site_mask(demo: DemoInfo) -> None:
    gt = json.loads(demo.gt_path.read_text())
    names = {im["id"]: im["file_name"] for im in gt["images"]}
    for a in gt["annotations"]:
        name = Path(names[a["image_id"]]).stem
        mask = cv2.imread(str(demo.mask_dir / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (SIZE[1], SIZE[0]) and set(np.unique(mask)) <= {0, 255}
        assert mask_box(mask) == a["bbox"]


def test_site_pixels_are_greyer_than_the_landscape(demo: DemoInfo) -> None:
    # gravel, fence and galvanised steel against fields: what a viewer picks out as "the site"
    inside, outside = [], []
    for p in sorted(demo.mask_dir.iterdir()):
        mask = cv2.imread(str(p), cv2.IMREAD_UNCHANGED) > 0
        sat = cv2.cvtColor(cv2.imread(str(demo.image_dir / "site" / f"{p.stem}.jpg")), cv2.COLOR_BGR2HSV)[..., 1]
        inside.append(sat[mask].mean())
        outside.append(sat[~mask].mean())
    assert np.mean(inside) < np.mean(outside)


def test_mask_box_uses_pixel_edges() -> None:
    m = np.zeros((10, 20), np.uint8)
    m[2:5, 3:9] = 255
    assert mask_box(m) == [3.0, 2.0, 6.0, 3.0]
    assert mask_box(np.zeros((4, 4), np.uint8)) is None


def test_site_fraction_spreads_sites_evenly() -> None:
    flags = [is_site_index(i, 0.3) for i in range(10)]
    assert sum(flags) == 3
    assert [sum(flags[:n]) for n in (1, 4, 7, 10)] == [1, 2, 3, 3]   # ceil(n * 0.3)
    assert not any(is_site_index(i, 0.0) for i in range(5))
    assert all(is_site_index(i, 1.0) for i in range(5))


def test_progress_and_site_fraction(tmp_path: Path) -> None:
    calls = []
    info = write_demo(tmp_path, n_images=4, size=SIZE, site_fraction=0.25, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(list((info.image_dir / "site").iterdir())) == 1
    assert len(list((info.image_dir / "no_site").iterdir())) == 3
    assert len(json.loads(info.gt_path.read_text())["annotations"]) == 1


def test_rerun_with_fewer_images_removes_stale_files_only(tmp_path: Path) -> None:
    write_demo(tmp_path, n_images=4, size=SIZE)
    keep = tmp_path / "images" / "site" / "notes.txt"
    keep.write_text("mine")
    write_demo(tmp_path, n_images=2, size=SIZE)
    assert sorted(p.name for p in (tmp_path / "images" / "site").iterdir()) == ["notes.txt", "site_0001.jpg"]
    assert sorted(p.name for p in (tmp_path / "images" / "no_site").iterdir()) == ["no_site_0001.jpg"]
    assert sorted(p.name for p in (tmp_path / "masks" / "site").iterdir()) == ["site_0001.png"]


@pytest.mark.parametrize("kwargs, word", [({"n_images": 0}, "n_images"), ({"size": (10, 10)}, "size"),
                                          ({"site_fraction": 1.5}, "site_fraction"), ({"seed": -1}, "seed")])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        write_demo(tmp_path, **kwargs)
