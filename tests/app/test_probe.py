"""Background answers that need torch reach a live widget, and a widget closed before the answer
arrives is simply skipped (it used to be able to crash the process)."""
from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QLabel

from app.probe import ask_in_background


def test_answer_reaches_a_live_widget_and_skips_a_closed_one(qtbot):
    alive, doomed = QLabel(), QLabel()
    qtbot.addWidget(alive)

    def slow():
        time.sleep(0.3)
        return "cuda:0"
    ask_in_background(slow, alive.setText, "cpu")
    ask_in_background(slow, doomed.setText, "cpu")
    doomed.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: alive.text() == "cuda:0", timeout=3000)
    qtbot.wait(100)                                   # the doomed one's answer is dropped, no crash


def test_a_failing_question_gives_the_fallback(qtbot):
    label = QLabel()
    qtbot.addWidget(label)

    def broken():
        raise ImportError("no torch here")
    ask_in_background(broken, label.setText, "cpu")
    qtbot.waitUntil(lambda: label.text() == "cpu", timeout=3000)
