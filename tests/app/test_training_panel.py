"""Training panel: start, live progress and curves, cancel, errors, then prediction and the run list."""
from __future__ import annotations

import textwrap

import pytest

pytest.importorskip("pytestqt")

from app import workers
from app.panels import training_panel as tp
from core.cli import build_parser
from core.progress import ProgressEvent
from core.run_figures import describe_training_run
from core.settings_cli import stage_argv


class FakeTask(workers.Task):
    """A real Task whose events the test sends; cancel() ends it at once like a killed process."""

    def __init__(self, title, argv):
        super().__init__(title)
        self.argv = argv

    def cancel(self):
        super().cancel()
        self._end("cancelled")

    def step(self, done, total, stage="train", **extra):
        self._emit_progress(ProgressEvent(stage, done, total, f"step {done}", eta_s=12.0 * (total - done),
                                          extra=extra))


class FakeRunner:
    def __init__(self):
        self.tasks: list[FakeTask] = []

    def run_subprocess(self, argv, title):
        t = FakeTask(title, list(argv))
        self.tasks.append(t)
        return t


@pytest.fixture
def panel(qtbot, project):
    runner = FakeRunner()
    w = tp.TrainingPanel(project, runner)
    qtbot.addWidget(w)
    w.resize(460, 760)
    w.show()
    return w, runner


def test_options_are_accepted_by_the_train_command(panel, project):
    w, _ = panel
    w.epochs.setValue(3)
    w.lr.setText("1e-3")
    w.k.setValue(2)
    w.crf.setChecked(False)
    assert w.lambda_cls.isHidden()                                        # L_CLS is the U-Net's alone
    w.localizer.setCurrentIndex(w.localizer.findData("unet"))
    assert not w.lambda_cls.isHidden() and w.lambda_cls.value() == pytest.approx(0.669)
    w.lambda_cls.setText("0.25")
    argv = stage_argv(w.options(), "train", project.path)
    args = build_parser().parse_args(argv)
    assert (args.command, args.events, args.epochs, args.lr, args.K) == ("train", "json", 3, 0.001, 2)
    assert args.crf is False and args.decoder == "unet" and args.lambda_crf == "default"
    assert args.lambda_cls == 0.25
    w.localizer.setCurrentIndex(w.localizer.findData("token-journal"))
    args = build_parser().parse_args(stage_argv(w.options(), "train", project.path))
    assert args.decoder == "token" and args.decoder_reduce == 0          # the journal's decoder
    assert args.lambda_cls is None
    w.localizer.setCurrentIndex(w.localizer.findData("token"))
    args = build_parser().parse_args(stage_argv(w.options(), "train", project.path))
    assert args.decoder == "token" and args.decoder_reduce > 0


def test_panel_shows_the_projects_saved_decoder(qtbot, project):
    from core.pipeline.config import PipelineConfig, save_config
    cfg = PipelineConfig()
    cfg.train.decoder_reduce = None
    save_config(project, cfg)
    w = tp.TrainingPanel(project, FakeRunner())
    qtbot.addWidget(w)
    assert w.localizer.currentData() == "token-journal"


def test_training_progress_curves_then_prediction_and_run_list(panel, project, qtbot):
    w, runner = panel
    w.epochs.setValue(2)
    w.start_btn.click()
    assert w.busy and not w.start_btn.isEnabled() and w.cancel_btn.isEnabled()
    train = runner.tasks[-1]
    assert train.title == "Training" and train.argv[:2] == ["train", str(project.path)]
    assert train.argv[train.argv.index("--epochs") + 1] == "2"

    train.step(0, 10, stage="features")                       # feature caching: bar moves, no curve
    train.step(5, 10, stage="features")
    assert w.progress.value() == 500
    for s in range(1, 9):
        train.step(s, 8, epoch=1 + (s > 4), step=s, loss=1.0 / s, loss_seed=0.8 / s, loss_crf=0.2 / s)
    assert w.progress.value() == 1000
    assert "epoch 2/2" in w.status.text() and "ETA 00:00" in w.progress.format()
    qtbot.waitUntil(lambda: w.plot.curves["loss"].getData()[0] is not None
                    and len(w.plot.curves["loss"].getData()[0]) == 8, timeout=2000)
    xs, ys = w.plot.curves["loss"].getData()
    assert xs[-1] == pytest.approx(2.0) and ys[0] == pytest.approx(1.0)   # x in epochs: 8/8 steps of 2 epochs
    assert w.plot.n_points("loss_crf") == 8

    run_id = project.runs.start({"epochs": 2})
    project.runs.update(run_id, history=[{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}],
                        metrics={"final_loss": 0.25, "val_accuracy": 0.875, "n_train": 6}, status="finished")
    train._end("finished", run_id)
    assert w._phase == "predicting"
    predict = runner.tasks[-1]
    assert predict.title == "Prediction"
    assert predict.argv == ["predict", str(project.path), "--run", str(run_id), "--events", "json"]
    predict.step(3, 6, stage="predict")
    with qtbot.waitSignal(w.run_finished, timeout=1000) as sig:
        predict._end("finished", run_id + 3)          # predict's result: the new prediction run's own number
    assert sig.args == [run_id]
    assert (f"Training run #{run_id} finished; predictions stored as prediction run #{run_id + 3} (from training "
            f"run #{run_id})") in w.status.text()
    assert not w.busy and w.start_btn.isEnabled() and not w.cancel_btn.isEnabled()
    assert w.run_ids()[0] == run_id
    row = w.runs.topLevelItem(0)
    assert row.text(1) == "finished"
    # the command line's words for the same run, laid out with dots (core.run_figures words both)
    figures = ("2 epochs on 6 training images", "final loss 0.2500",
               "classifier right on 87.5 % of the validation images")
    assert row.text(4) == " \u00b7 ".join(figures)
    assert describe_training_run(project.runs.get(run_id)) == f"training run #{run_id} finished: {', '.join(figures)}"


def test_cancel_returns_to_idle_and_closes_the_run(panel, project):
    w, runner = panel
    w.start_btn.click()
    task = runner.tasks[-1]
    run_id = project.runs.start({"epochs": 12})           # what the killed subprocess had opened
    task.step(1, 100, epoch=1, step=1, loss=0.9)
    w.cancel_btn.click()
    assert task.cancel_requested and task.state == "cancelled"
    assert not w.busy and w.start_btn.isEnabled() and w.settings_box.isEnabled()
    assert "cancelled" in w.status.text()
    assert project.runs.get(run_id).status == "cancelled"
    w.start_btn.click()                                    # usable again
    assert len(runner.tasks) == 2 and w.busy


def test_error_shows_details_and_panel_stays_usable(panel, project, monkeypatch):
    w, runner = panel
    shown = []
    monkeypatch.setattr(tp.error_dialog, "show_error", lambda *a: shown.append(a))
    w.start_btn.click()
    runner.tasks[-1]._end("failed", ("CUDA out of memory", "Traceback ...\nRuntimeError: CUDA out of memory"))
    assert len(shown) == 1
    parent, title, message, details = shown[0]
    assert parent is w and title == "Training failed" and message == "CUDA out of memory" and "Traceback" in details
    assert not w.busy and w.start_btn.isEnabled()
    assert "failed" in w.status.text()
    w.start_btn.click()
    assert len(runner.tasks) == 2


def test_invalid_number_does_not_start(panel):
    w, runner = panel
    w.lr.setText("")
    w.start_btn.click()
    assert not runner.tasks and not w.busy and "learning rate" in w.status.text()


def test_selecting_a_past_run_plots_its_history(panel, project):
    w, _ = panel
    rid = project.runs.start({"epochs": 3})
    project.runs.update(rid, history=[{"epoch": e, "loss": 1.0 / e, "loss_seed": 0.5, "loss_crf": 0.1}
                                      for e in (1, 2, 3)], status="finished")
    w.refresh_runs()
    w.runs.setCurrentItem(w.runs.topLevelItem(0))
    w.plot.redraw()
    assert list(w.plot.curves["loss"].getData()[0]) == [1.0, 2.0, 3.0]


def test_real_subprocess_events_and_kill(qtbot, project, tmp_path, monkeypatch):
    """The real TaskRunner on a stand-in for main.py: JSON lines drive the panel; Cancel kills it."""
    script = tmp_path / "fake_main.py"
    script.write_text(textwrap.dedent("""
        import json, sys, time
        for s in range(1, 4):
            print(json.dumps({"event": "progress", "stage": "train", "done": s, "total": 1000, "message": "",
                              "eta_s": 5.0, "extra": {"epoch": 1, "step": s, "loss": 1.0 / s,
                                                      "loss_seed": 0.5, "loss_crf": 0.1}}), flush=True)
        time.sleep(60)
    """))
    monkeypatch.setattr(workers, "MAIN_PY", script)
    runner = workers.TaskRunner()
    w = tp.TrainingPanel(project, runner)
    qtbot.addWidget(w)
    w.start_btn.click()
    qtbot.waitUntil(lambda: w.plot.n_points("loss") == 3, timeout=10000)
    task = runner.active()[0]
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        w.cancel_btn.click()
    assert not w.busy and w.start_btn.isEnabled()
    assert w.status.text() == "Training cancelled." and w.progress.format() == "cancelled"


@pytest.mark.slow
def test_real_train_command_error_reaches_the_dialog(qtbot, tmp_path, monkeypatch):
    """``main.py train`` for real on a project it cannot train: the error arrives as a dialog."""
    from core.data.importer import import_images
    from core.store.project import Project
    from tests.conftest import make_image

    make_image(tmp_path / "flat" / "a.png")             # no class folders: nothing to train on
    project = Project.create(tmp_path / "p.dips", tmp_path / "flat")
    import_images(project)
    shown = []
    monkeypatch.setattr(tp.error_dialog, "show_error", lambda *a: shown.append(a))
    w = tp.TrainingPanel(project, workers.TaskRunner())
    qtbot.addWidget(w)
    w.start_btn.click()
    qtbot.waitUntil(lambda: bool(shown), timeout=60000)
    assert shown[0][1] == "Training failed" and shown[0][2]
    assert not w.busy and w.start_btn.isEnabled()
    project.close()


def _train_with(panel, project):
    """What `main.py train` does with the panel's command line before training: the settings it trains with,
    saved in the project."""
    from core.cli_stages import _cfg
    from core.pipeline.config import load_config
    _cfg(project, build_parser().parse_args(stage_argv(panel.options(), "train", project.path)))
    return load_config(project).train


def test_a_setting_put_back_in_the_panel_is_what_the_next_run_uses(panel, project):
    w, _ = panel
    w.crf.setChecked(False)
    w.lambda_crf.setText("0.5")
    w.widths.setText("16, 8")
    t = _train_with(w, project)
    assert (t.use_crf, t.lambda_crf, t.decoder_widths) == (False, 0.5, [16, 8])
    # the inspector turns the CRF loss back on, empties λ2 and the widths: the defaults again, not the last run's
    w.crf.setChecked(True)
    w.lambda_crf.setText("")
    w.widths.setText("")
    t = _train_with(w, project)
    assert (t.use_crf, t.lambda_crf, t.decoder_widths) == (True, None, None)


def test_panel_reopens_with_the_settings_of_the_last_run(qtbot, panel, project):
    w, _ = panel
    w.crf.setChecked(False)
    w.lambda_crf.setText("7.5e-8")
    w.widths.setText("24,12")
    w.k.setValue(3)
    _train_with(w, project)
    again = tp.TrainingPanel(project, FakeRunner())
    qtbot.addWidget(again)
    assert again.options() == w.options()
    assert again.widths.text() == "24, 12" and not again.crf.isChecked()


def test_decoder_widths_must_be_one_per_block(panel, project):
    w, runner = panel
    w.widths.setText("32")                  # the decoder has 2 upsampling blocks
    w.start_btn.click()
    assert not runner.tasks and "2 numbers" in w.status.text()
    w.localizer.setCurrentIndex(w.localizer.findData("unet"))
    assert w.widths.isHidden()              # the U-Net has no token decoder
    assert "--decoder-widths" not in stage_argv(w.options(), "train", project.path)


def test_a_setting_marked_for_the_gui_gets_an_editor_and_reaches_the_train_command(panel, project):
    """TrainConfig.seed has gui=True in core/settings.py and nothing else: the panel shows it, sends it."""
    w, _ = panel
    seed = w.form.editors["seed"]
    assert seed.isVisibleTo(w) and "same seed" in seed.toolTip()
    seed.setValue(7)
    args = build_parser().parse_args(stage_argv(w.options(), "train", project.path))
    assert args.seed == 7


def test_validation_accuracy_is_worded_as_in_the_runs_list_while_training(panel, qtbot):
    """The live status line says the figure in the runs list's words; the plot's legend and right axis name it
    short, never 'val acc'."""
    w, runner = panel
    w.epochs.setValue(2)
    w.start_btn.click()
    train = runner.tasks[-1]
    train.step(4, 8, epoch=1, step=4, loss=0.5)
    train.step(4, 8, epoch=1, step=4, loss=0.5, val_acc=0.75)
    assert "classifier right on 75.0 % of the validation images" in w.status.text()
    assert "val acc" not in w.status.text()
    w.plot.redraw()
    legend = [label.text for _sample, label in w.plot.legend.items]
    assert "validation accuracy (%)" in legend and not any("val acc" in t for t in legend)
    assert w.plot.getPlotItem().getAxis("right").labelText == "validation accuracy"
    # a fraction whatever its value: 1 % of the images is 1 %, not 100 %, in the words and on the plot
    train.step(6, 8, epoch=2, step=6, loss=0.4, val_acc=0.01)
    assert "classifier right on 1.0 % of the validation images" in w.status.text()
    w.plot.redraw()
    assert list(w.plot.acc_curve.getData()[1]) == pytest.approx([75.0, 1.0])


def test_the_status_after_prediction_says_how_the_run_chose_its_threshold(panel, project, qtbot):
    """As predict prints it: a fit whose boxes missed every curated box says why the images show next to none."""
    w, runner = panel
    w.start_btn.click()
    run_id = project.runs.start({"epochs": 1})
    project.runs.update(run_id, history=[{"epoch": 1, "loss": 0.5}], metrics={"final_loss": 0.5, "n_train": 6},
                        status="finished")
    runner.tasks[-1]._end("finished", run_id)
    pred_run = project.maps.new_prediction_run(run_id, {
        "operating_threshold": 0.6, "threshold_source": "fit", "calibrated_on": 10, "fitted_to_curated": 10,
        "curated_held_out": 10, "curated_trained_on": 0, "fit_kept": 0, "boxes": {}})
    with qtbot.waitSignal(w.run_finished, timeout=1000):
        runner.tasks[-1]._end("finished", pred_run)
    assert (f"predictions stored as prediction run #{pred_run} (from training run #{run_id}); τ 0.60 and drawing "
            "(as set) fitted to 10 curated images the run did not train on; on none of them did its best box overlap "
            "a curated box (IoU >= 0.5), so it draws few boxes or none: train longer, or check the labels"
            ) in w.status.text()
