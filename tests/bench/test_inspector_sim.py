"""The simulated inspector's bookkeeping on hand-made boxes."""
import numpy as np
import pytest

from bench.inspector_sim import Costs, replay_image


def test_accept_adjust_reject_and_draw_cost_what_the_costs_say():
    costs = Costs(verify=1.6, draw=7.0, adjust=5.1)
    gt = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], float)
    shown = np.array([[0, 0, 10, 10],        # exact: accepted
                      [20, 0, 30, 16],       # IoU 100/160 = 0.625: adjusted
                      [60, 60, 70, 70]],     # on nothing: rejected
                     float)
    out = replay_image(shown, gt, costs, look=3)
    assert (out.accepted, out.adjusted, out.rejected, out.drawn) == (1, 1, 1, 1)
    assert out.seconds == pytest.approx(1.6 + 5.1 + 1.6 + 7.0)
    # looking at the top one only: the rest is drawn
    top = replay_image(shown, gt, costs, look=1)
    assert (top.accepted, top.drawn) == (1, 2) and top.seconds == pytest.approx(1.6 + 14.0)


def test_an_object_free_image_costs_only_its_rejections():
    out = replay_image(np.array([[0, 0, 5, 5]], float), np.zeros((0, 4)), Costs(), look=2)
    assert (out.rejected, out.drawn) == (1, 0) and out.seconds == pytest.approx(1.6)


def _two_objects_with_proposals(project, cfg):
    """Ground truth on the two site images, then maps and proposals: the project a review session starts on."""
    from core.pipeline import compute_attention, compute_proposals
    a, b = project.images.by_path("site/a.jpg"), project.images.by_path("site/sub/b.png")
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    project.boxes.add_gt(b.id, (20, 5, 40, 25), b.class_id)
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    return a, b


def test_session_with_retraining_writes_curated_boxes_and_predicts_again(tiny_pipeline):
    from bench.inspector_sim import simulate
    from core.pipeline import predict, train
    project, cfg = tiny_pipeline
    a, b = _two_objects_with_proposals(project, cfg)
    first = predict(project, train(project, cfg), cfg=cfg)
    s = simulate(project, "file", 1, Costs(), look=1)
    assert s.retrains == 2                                  # after each object image, images remaining
    assert project.maps.latest_run_id() > first             # the remaining images were predicted again
    curated = {r.image_id for r in project.boxes.all()}
    assert {a.id, b.id} <= curated                          # both objects ended up boxed in the project
    assert s.curve[-1][1] == 2 and s.seconds == s.curve[-1][0]
    assert s.counts["drawn"] + s.counts["accepted"] + s.counts["adjusted"] == 2


def test_gated_replay_shows_only_what_has_paid_and_learns_from_hidden_boxes():
    from bench.inspector_sim import replay_gated
    from core.dips.suggest import SuggestionGate
    gate = SuggestionGate(min_history=2)
    gt = np.array([[0, 0, 10, 10]], float)
    wrong = np.array([[60, 60, 70, 70]], float)
    first = replay_gated(wrong, np.array([0.9]), gt, Costs(), gate)         # shown while history is short
    assert (first.rejected, first.drawn) == (1, 1)
    replay_gated(wrong, np.array([0.8]), gt, Costs(), gate)
    hidden = replay_gated(wrong, np.array([0.95]), gt, Costs(), gate)       # no score has paid: not shown
    assert (hidden.rejected, hidden.drawn) == (0, 1) and hidden.seconds == pytest.approx(7.0)
    for _ in range(3):                                                      # hidden right boxes reopen it
        replay_gated(gt, np.array([0.97]), gt, Costs(), gate)
    shown = replay_gated(gt, np.array([0.97]), gt, Costs(), gate)
    assert (shown.accepted, shown.drawn) == (1, 0) and shown.seconds == pytest.approx(1.6)


def test_session_with_refits_predicts_again_without_training_and_keeps_the_drawing(tiny_pipeline):
    from bench.inspector_sim import simulate
    from core.pipeline import predict, train
    project, cfg = tiny_pipeline
    a, b = _two_objects_with_proposals(project, cfg)
    cfg.boxes.min_rel_area = 0.5                            # not the project's saved setting
    first = predict(project, train(project, cfg), cfg=cfg)
    runs = len(project.runs.list())
    s = simulate(project, "file", 0, Costs(), look=1, refit_every=1, fit=True, gate=True)
    assert s.retrains >= 1 and len(project.runs.list()) == runs   # predicted again, never trained
    last = project.maps.prediction_run_config(project.maps.latest_run_id())
    assert project.maps.latest_run_id() > first and last["boxes"]["min_rel_area"] == 0.5


def test_click_box_costs_a_click_and_a_verification_and_its_outcome():
    costs = Costs(verify=1.6, draw=7.0, adjust=5.1, click=1.9)
    gt = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], float)
    answers = {0: np.array([0, 0, 10, 10], float),     # exact: kept
               20: np.array([20, 0, 30, 16], float),   # IoU 0.625: adjusted
               40: np.array([70, 70, 80, 80], float)}  # missed: deleted and drawn
    finals = []

    class Click:
        def __call__(self, g, on_image):
            return answers[int(g[0])]

        def done(self, final):
            finals.append(tuple(final))

    out = replay_image(np.zeros((0, 4)), gt, costs, look=0, click=Click())
    assert (out.click_kept, out.click_adjusted, out.click_redrawn, out.drawn) == (1, 1, 1, 1)
    assert out.seconds == pytest.approx(3 * 1.9 + 1.6 + 5.1 + (1.6 + 7.0))
    # the curated boxes: the kept click box, the object's box after adjusting and after drawing
    assert [tuple(b) for b in out.curated] == [(0, 0, 10, 10), (20, 0, 30, 10), (40, 0, 50, 10)]
    assert finals == [(0, 0, 10, 10), (20, 0, 30, 10), (40, 0, 50, 10)]


def test_the_key_starting_click_box_mode_is_charged_once_per_session_or_per_image_with_clicks():
    from bench.inspector_sim import ImageOutcome, Session, charge_mode_key
    costs = Costs(mode_key=0.5)
    images = [ImageOutcome(10.0, click_kept=2), ImageOutcome(1.6, rejected=1),       # no click: no key
              ImageOutcome(8.6, click_redrawn=1, drawn=1), ImageOutcome(5.1, click_adjusted=1)]
    once, each = Session("file", 0), Session("file", 0)
    for out in images:
        charge_mode_key(once, out, costs)                  # the app keeps the mode from image to image
        charge_mode_key(each, out, costs, per_image=True)  # the mode ending with each image
    assert (once.mode_keys, once.seconds) == (1, pytest.approx(0.5))
    assert (each.mode_keys, each.seconds) == (3, pytest.approx(1.5))


def test_the_chooser_option_sets_up_the_chooser_before_issue_27_and_refuses_unknown_settings():
    from bench.inspector_sim import chooser_args
    from core.dips.click_box import ClickBoxChooser
    kw = chooser_args("judge=seconds,min_records=3")
    assert kw == {"judge": "seconds", "min_records": 3}
    old = ClickBoxChooser(**kw)
    final = np.array([0, 0, 10, 10], float)
    old.record({"grabcut": final + 20, "square": final.copy(), "contrast": final.copy()}, final)
    assert old.choose() == "grabcut"                      # three clicks before it judges, as before issue 27
    with pytest.raises(SystemExit, match="margin"):
        chooser_args("margin=2")
