"""core/events.py and core/stages.py: the event lines a stage prints are read back as sent; the stage order."""
from __future__ import annotations

from core.events import cancelled_line, done_line, error_line, parse_line, progress_line
from core.progress import ProgressEvent
from core.stages import ORDER, chain, next_stage


def test_every_event_line_reads_back_as_written():
    ev = ProgressEvent("train", 3, 10, "epoch 1", 4.5, {"loss": 0.25, "epoch": 1})
    assert parse_line(progress_line(ev)).progress == ev
    assert parse_line(done_line({"train_run": 2})).result == {"train_run": 2}
    err = parse_line(error_line("CUDA out of memory", "Traceback ..."))
    assert (err.kind, err.message, err.details) == ("error", "CUDA out of memory", "Traceback ...")
    assert parse_line(cancelled_line()).kind == "cancelled"


def test_stray_output_is_not_an_event():
    for line in ("", "loading weights...", "{broken", '{"event": "unknown"}', "[1, 2]"):
        assert parse_line(line) is None


def test_stage_order_is_attention_proposals_train_predict():
    assert ORDER == ("attention", "proposals", "train", "predict")
    assert next_stage("train") == "predict" and next_stage("predict") is None
    assert chain("attention", "proposals") == ["attention", "proposals"]
