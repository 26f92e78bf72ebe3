"""The event protocol between a stage run as a child process and whoever started it, defined once.

``python main.py STAGE PROJECT --events json`` prints one JSON object per line on stdout:

* ``{"event": "progress", "stage", "done", "total", "message", "eta_s", "extra"}`` as it goes;
* then exactly one of ``{"event": "done", "result": ...}``, ``{"event": "error", "message", "details"}``
  or ``{"event": "cancelled"}``.

The CLI writes with the ``*_line`` functions; the GUI (app/workers.py) reads with :func:`parse_line`.
Lines that are not JSON objects are not events (a library's stray print) and read as None.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from core.progress import Progress, ProgressEvent

KINDS = ("progress", "done", "error", "cancelled")


@dataclass(frozen=True)
class StageEvent:
    kind: str                               # one of KINDS
    progress: ProgressEvent | None = None   # kind == "progress"
    result: object = None                   # kind == "done": the stage's return value (run id, count, dict)
    message: str = ""                       # kind == "error": one line for the user
    details: str = ""                       # kind == "error": the traceback


def progress_line(ev: ProgressEvent) -> str:
    return json.dumps({"event": "progress", "stage": ev.stage, "done": ev.done, "total": ev.total,
                       "message": ev.message, "eta_s": ev.eta_s, "extra": ev.extra})


def done_line(result: object) -> str:
    return json.dumps({"event": "done", "result": result})


def error_line(message: str, details: str = "") -> str:
    return json.dumps({"event": "error", "message": message, "details": details})


def cancelled_line() -> str:
    return json.dumps({"event": "cancelled"})


def json_progress(stream=None) -> Progress:
    """A Progress that prints each event as a line on ``stream`` (stdout), flushed at once."""
    def emit(ev: ProgressEvent) -> None:
        print(progress_line(ev), file=stream or sys.stdout, flush=True)
    return Progress(emit)


def progress_event(d: dict | ProgressEvent | None) -> ProgressEvent:
    """A progress event from its JSON form (missing fields take their empty values)."""
    if isinstance(d, ProgressEvent):
        return d
    d = dict(d or {})
    return ProgressEvent(str(d.get("stage", "") or ""), int(d.get("done", 0) or 0), int(d.get("total", 0) or 0),
                         str(d.get("message", "") or ""), d.get("eta_s"), dict(d.get("extra") or {}))


def parse_line(line: str) -> StageEvent | None:
    """One stdout line -> the event it carries, or None when it is not an event."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        d = json.loads(line)
    except json.JSONDecodeError:
        return None
    kind = d.get("event") if isinstance(d, dict) else None
    if kind == "progress":
        return StageEvent("progress", progress=progress_event(d))
    if kind == "done":
        return StageEvent("done", result=d.get("result"))
    if kind == "error":
        return StageEvent("error", message=str(d.get("message", "error")), details=str(d.get("details", "")))
    if kind == "cancelled":
        return StageEvent("cancelled")
    return None
