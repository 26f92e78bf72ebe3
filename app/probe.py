"""Answers that need torch (devices, core defaults), computed on a daemon thread: importing torch takes
seconds and must not hold up the window.

The messenger object is not a child of the widget that asked, and is kept alive here, so a widget closed
before the answer arrives is simply not called (Qt drops the queued call to a destroyed receiver). A
messenger owned by the widget would be deleted with it while the thread may still be emitting on it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Messenger(QObject):
    answered = Signal(object)


_messengers: list[_Messenger] = []   # a few tiny objects per window; never freed from a worker thread
_lock = threading.Lock()


def ask_in_background(question: Callable[[], Any], slot: Callable[[Any], None], fallback: Any,
                      name: str = "probe") -> None:
    """Run ``question()`` on a daemon thread and deliver its result (``fallback`` if it raised) to ``slot``,
    a method of a QObject on the GUI thread."""
    messenger = _Messenger()
    messenger.answered.connect(slot)
    with _lock:
        _messengers.append(messenger)

    def run() -> None:
        try:
            result = question()
        except Exception:
            result = fallback
        messenger.answered.emit(result)

    threading.Thread(target=run, name=name, daemon=True).start()
