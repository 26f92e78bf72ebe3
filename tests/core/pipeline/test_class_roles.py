"""Declaring which classes show no object changes what is computed and trained on, and marks what it
made out of date; training says what is missing before it starts."""
from __future__ import annotations

import json

import pytest

from core.class_roles import (
    PROPOSALS_PENDING,
    apply_roles,
    by_name_rule,
    last_change,
    preview_roles,
    proposals_out_of_date,
    run_is_out_of_date,
    setting_for,
)
from core.pipeline import compute_attention, compute_proposals, train
from core.pipeline.config import load_config
from core.pipeline.proposal_stage import META_PENDING
from core.pipeline.readiness import training_readiness
from core.settings import load_settings
from core.store.repos.proposals import NewProposal


def _ids(project, cls: str) -> list[int]:
    cid = project.class_id(cls, create=False)
    return [r.id for r in project.images.list() if r.class_id == cid and not r.missing]


def test_the_name_rule_prefills_and_a_choice_equal_to_it_is_saved_as_the_rule():
    names = ["tower", "no_site", "field", "background"]
    assert by_name_rule(names) == ["no_site", "background"]
    assert setting_for(names, ["background", "no_site"]) is None          # same as the rule: stays 'by name'
    assert setting_for(names, ["field", "no_site"]) == ["no_site", "field"]
    assert setting_for(names, []) == []                                   # none at all is a choice too


def test_pending_key_is_the_proposal_stages():
    assert PROPOSALS_PENDING == META_PENDING


def test_changing_roles_removes_and_queues_proposals_in_one_step(project):
    site, no_site = _ids(project, "site"), _ids(project, "no_site")
    for i in site:
        project.proposals.replace(i, [NewProposal((1, 1, 20, 20), -1, 0.9, 0.9)])
    box = project.boxes.add(site[0], (2, 2, 10, 10), project.class_id("site", create=False))
    # 'site' now shows no object, 'no_site' does
    preview = preview_roles(project, ["site"])
    assert (preview.became_background, preview.became_object) == (["site"], ["no_site"])
    assert preview.proposals_removed == len(site) and preview.images_to_propose == sorted(no_site)
    assert "'site' will count as showing no object" in preview.describe()
    assert project.proposals.count() == len(site)                      # a preview writes nothing
    change = apply_roles(project, ["site"])
    assert change.changed
    assert load_settings(project).background_classes == ["site"]
    assert project.proposals.count() == 0                              # proposals of the now-background images
    assert [b.id for b in project.boxes.list(site[0])] == [box.id]     # curated boxes stay
    assert set(json.loads(project.get_meta(PROPOSALS_PENDING))) >= set(no_site)
    assert last_change(project)["object"] == ["no_site"]
    assert proposals_out_of_date(project, no_site[0]) and not proposals_out_of_date(project, site[0])
    # back to the name rule: saved as 'by name' (None)
    apply_roles(project, ["no_site"])
    assert load_settings(project).background_classes is None


def test_the_declaration_decides_where_proposals_are_computed(tiny_prepared):
    project, cfg = tiny_prepared
    with_props = project.proposals.image_ids_with_proposals()
    assert with_props and not with_props & set(_ids(project, "no_site"))     # by name: no_site has none
    apply_roles(project, [])                                                  # no class is background now
    n = compute_proposals(project, load_config(project))
    assert n == len(_ids(project, "no_site"))                                 # only the images that changed role
    assert set(_ids(project, "no_site")) <= project.proposals.image_ids_with_proposals()
    assert not proposals_out_of_date(project, _ids(project, "no_site")[0])


def test_runs_record_their_background_classes_and_go_out_of_date(tiny_prepared):
    project, cfg = tiny_prepared
    run = project.runs.get(train(project, cfg))
    assert run.config["background_classes"] == ["no_site"]
    assert not run_is_out_of_date(project, run)
    apply_roles(project, [])
    assert run_is_out_of_date(project, run)
    apply_roles(project, ["no_site"])
    assert not run_is_out_of_date(project, run)


def test_training_refuses_at_once_without_proposals_and_says_what_is_missing(tiny_pipeline):
    project, cfg = tiny_pipeline
    ready = training_readiness(project, cfg)
    assert ready.blocking() is None and ready.to_compute() == ["attention", "proposals"]
    assert ready.without_maps == ready.object_images == ready.without_boxes > 0
    assert "have no attention maps yet" in ready.missing_text()
    with pytest.raises(ValueError, match="proposals"):
        train(project, cfg)
    assert project.runs.list() == []                       # refused before a run (and minutes of caching) began
    compute_attention(project, cfg)
    ready = training_readiness(project, cfg)
    assert ready.to_compute() == ["proposals"] and ready.without_maps == 0
    compute_proposals(project, cfg)
    ready = training_readiness(project, cfg)
    assert ready.to_compute() == [] and ready.missing_text() == "" and ready.trainable == ready.object_images


def test_readiness_names_what_no_computing_can_fix(project):
    cfg = load_config(project)
    cfg.background_classes = ["site", "no_site"]
    assert "Every class is marked as showing no object" in training_readiness(project, cfg).blocking()
    cfg.background_classes = None
    project.images.set_splits({r.id: "test" for r in project.images.list()})
    assert "No image of the training split has a class" in training_readiness(project, cfg).blocking()


def test_a_stage_given_other_background_classes_applies_them_as_the_window_does(project, capsys):
    from main import main
    site = _ids(project, "site")
    for i in site:
        project.proposals.replace(i, [NewProposal((1, 1, 20, 20), -1, 0.9, 0.9)])
    path = str(project.path)
    # train refuses at once here ('no_site' has no proposals), but the new declaration is applied first
    assert main(["train", path, "--background-classes", "site"]) == 2
    assert project.proposals.count() == 0 and load_settings(project).background_classes == ["site"]
    assert last_change(project)["background"] == ["site"]


def test_the_answer_about_boxes_of_a_background_class_is_kept_with_the_roles(project):
    from core.class_roles import BOX_ANSWERS, box_answer, box_answers, set_box_answer
    assert box_answer(project, "no_site") is None                       # never asked: ask
    set_box_answer(project, "no_site", False)
    assert box_answer(project, "no_site") is False and json.loads(project.get_meta(BOX_ANSWERS)) == {"no_site": False}
    # the dialog writes the answers with the roles, in the same transaction; None forgets one (ask again)
    names = [c.name for c in project.classes()]
    apply_roles(project, by_name_rule(names), {"no_site": None, "field": True})
    assert box_answers(project) == {"field": True}
    project.set_meta(BOX_ANSWERS, "not json")                             # a damaged record only asks again
    assert box_answers(project) == {}
