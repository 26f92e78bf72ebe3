"""The real attention and proposal stages (tiny ViT) work in the order an inspector needs: object classes before
background classes, the images a priority source names first, and what a cancel leaves is known to be unfinished."""
from __future__ import annotations

import pytest

from core.pipeline import compute_attention, compute_proposals, unfinished_stages
from core.progress import Cancelled, Progress
from core.work_order import FocusList


def _record_calls(monkeypatch, obj, name: str) -> list[int]:
    """The image ids ``obj.name(image_id, ...)`` is called with, in order (the store writes of a stage)."""
    seen: list[int] = []
    original = getattr(obj, name)

    def spy(image_id, *args, **kwargs):
        seen.append(image_id)
        return original(image_id, *args, **kwargs)
    monkeypatch.setattr(obj, name, spy)
    return seen


def _class_of(project, image_id: int) -> str:
    return project.class_names()[project.images.get(image_id).class_id]


def test_attention_maps_object_classes_before_background_classes(tiny_pipeline, monkeypatch):
    project, cfg = tiny_pipeline
    saved = _record_calls(monkeypatch, project.maps, "save_attention")
    # in file order no_site/ comes first; the stage puts the site images before them
    assert project.images.list()[0].rel_path.startswith("no_site/")
    assert compute_attention(project, cfg) == 7
    assert [_class_of(project, i) for i in saved] == ["site"] * 4 + ["no_site"] * 3


def test_attention_computes_the_focused_image_and_its_neighbours_first(tiny_pipeline, monkeypatch):
    project, cfg = tiny_pipeline
    cfg.attention.batch_size = 2
    saved = _record_calls(monkeypatch, project.maps, "save_attention")
    n1 = project.images.by_path("no_site/n1.png").id
    last = project.images.by_path("site/sub/b.png").id
    events = []
    compute_attention(project, cfg, Progress(events.append), priority=lambda: [n1, last])
    assert saved[:2] == [n1, last]                    # one batch of 2: both wanted images, background or not
    assert [_class_of(project, i) for i in saved[2:]] == ["site"] * 3 + ["no_site"] * 2
    nexts = [ev.extra.get("next_id") for ev in events if ev.done > 0]
    assert nexts[0] == saved[2] and nexts[-1] is None  # each event says which image comes next


def test_proposals_follow_a_priority_that_changes_while_they_run(tiny_pipeline, monkeypatch):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    replaced = _record_calls(monkeypatch, project.proposals, "replace")
    focus = FocusList()
    site = [project.images.by_path(p).id for p in ("site/a.jpg", "site/rotated.jpg", "site/sub/b.png")]

    def on_event(ev):
        if ev.stage == "proposals" and ev.done == 1:
            focus.set([site[2]])                      # the user moved to site/sub/b.png meanwhile
    assert compute_proposals(project, cfg, Progress(on_event), priority=focus) == 4
    assert replaced[:3] == [site[0], site[2], site[1]]


def test_what_a_cancel_leaves_is_unfinished_until_it_is_done(tiny_pipeline):
    project, cfg = tiny_pipeline
    assert unfinished_stages(project) == ["attention", "proposals"]
    compute_attention(project, cfg)
    assert unfinished_stages(project) == ["proposals"]

    def cancel_after_two(ev):
        if ev.stage == "proposals" and ev.done == 2:
            raise Cancelled("proposals")
    with pytest.raises(Cancelled):
        compute_proposals(project, cfg, Progress(cancel_after_two))
    assert len(project.proposals.image_ids_with_proposals()) == 2
    assert unfinished_stages(project) == ["proposals"]
    assert compute_proposals(project, cfg) == 2           # the rest, nothing twice
    assert unfinished_stages(project) == []


def test_background_maps_can_wait_and_are_then_all_that_is_unfinished(tiny_pipeline):
    project, cfg = tiny_pipeline
    assert compute_attention(project, cfg, skip_background=True) == 4       # the site images only
    assert compute_proposals(project, cfg) == 4
    assert unfinished_stages(project) == ["attention"]                       # no proposals wait for them
    assert compute_attention(project, cfg) == 3
    assert unfinished_stages(project) == []


def test_a_background_image_the_user_looks_at_gets_its_maps_even_when_background_classes_wait(tiny_pipeline,
                                                                                             monkeypatch):
    project, cfg = tiny_pipeline
    saved = _record_calls(monkeypatch, project.maps, "save_attention")
    n2 = project.images.by_path("no_site/n2.png").id
    assert compute_attention(project, cfg, skip_background=True, priority=lambda: [n2]) == 5
    assert saved[0] == n2 and [_class_of(project, i) for i in saved[1:]] == ["site"] * 4
