"""The export dialog's counts (``export_counts``) are what ``build_coco`` writes, for every image choice."""
from __future__ import annotations

import itertools

import numpy as np

from core.data.coco import build_coco, export_counts
from core.store.repos.proposals import NewProposal


def test_the_counts_equal_the_annotations_written_for_every_image_choice(project):
    site, no_site = project.class_id("site", create=False), project.class_id("no_site", create=False)
    imgs = project.images.list()
    a, b, n0 = ([i for i in imgs if i.class_id == site][:2] + [i for i in imgs if i.class_id == no_site][:1])
    project.images.set_review(a.id, "verified")
    project.images.set_split(b.id, "test")
    project.images.set_split(n0.id, "test")
    project.boxes.add(a.id, (1, 1, 9, 9), site)
    project.boxes.add(a.id, (2, 2, 8, 8), None, source="prediction", score=0.7)   # of its image's class
    project.boxes.add(b.id, (1, 1, 9, 9), site, source="proposal", score=0.6)
    project.boxes.add(n0.id, (1, 1, 5, 5), no_site)
    for img in (a, b, n0):
        project.proposals.replace(img.id, [NewProposal((1, 1, 6, 6), -1, 0.8, 0.9),
                                           NewProposal((2, 2, 7, 7), 0, 0.5, 0.5)])
    old, run = project.maps.new_prediction_run(None, {}), project.maps.new_prediction_run(None, {})
    fg = np.zeros((4, 4), np.float32)
    project.maps.save_prediction(old, a.id, [0.5, 0.5], fg, [(1, 1, 5, 5, 0.9)] * 5)   # not the latest: not written
    project.maps.save_prediction(run, a.id, [0.5, 0.5], fg, [(1, 1, 5, 5, 0.9), (2, 2, 6, 6, 0.4)])
    project.maps.save_prediction(run, n0.id, [0.5, 0.5], fg, [(1, 1, 5, 5, 0.3)])

    choices = itertools.product((False, True), (None, "train", "test"), ((), ("no_site",)))
    for reviewed_only, split, leave_out in choices:
        opts = {"reviewed_only": reviewed_only, "split": split, "leave_out_classes": leave_out}
        c = export_counts(project, **opts)
        coco, _ = build_coco(project, "all", **opts)
        kinds = [(ann["attributes"]["kind"], ann["attributes"]["source"], ann["image_id"])
                 for ann in coco["annotations"]]
        assert c.images == len(coco["images"]), opts
        assert c.curated == sum(k == "curated" for k, _, _ in kinds), opts
        assert c.accepted == sum(k == "curated" and s == "prediction" for k, s, _ in kinds), opts
        assert c.proposals == sum(k == "proposal" for k, _, _ in kinds), opts
        assert c.predictions == sum(k == "prediction" for k, _, _ in kinds), opts
        assert c.predicted_images == len({i for k, _, i in kinds if k == "prediction"}), opts
    every = export_counts(project)
    assert (every.curated, every.accepted, every.proposals) == (4, 1, 6)
    assert (every.predictions, every.predicted_images) == (3, 2)
