"""The one seam between the GUI and background work.

``TaskRunner.run_in_thread`` runs a pipeline stage (any ``fn(progress)``) on a thread pool;
``TaskRunner.run_subprocess`` runs ``python main.py ...`` and reads its JSON event lines.
Either way the caller gets a ``Task`` whose signals always arrive on the GUI thread, so
slots may touch widgets. Cancellation is cooperative for threads (the stage sees the
``Progress`` cancel flag and raises ``Cancelled``) and a process-tree kill for subprocesses.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot

from app.failure_words import last_meaningful_line, plain_message
from core.errors import user_message
from core.events import parse_line
from core.progress import Cancelled, Progress, ProgressEvent

MAIN_PY = Path(__file__).resolve().parents[1] / "main.py"
# Progress events closer together than this are coalesced: a stage calling update() in a tight
# loop must not flood the GUI event queue. An event held back is not lost: the latest one held (carrying the
# done_ids of those it replaced) is delivered when the interval is over, or before the task's end.
PROGRESS_MIN_INTERVAL_S = 0.05
STDERR_TAIL_CHARS = 4000


def _one_line(exc: BaseException) -> str:
    """The first line of a failure for the status line. Bad input (core.errors.USER_ERRORS) says what is wrong
    in words meant for the user; anything else is a bug, named by its type."""
    message = user_message(exc)
    if message is not None:
        return message
    text = str(exc).strip()
    return f"{exc.__class__.__name__}: {text}".splitlines()[0] if text else exc.__class__.__name__

class Task(QObject):
    """A unit of background work seen from the GUI thread.

    Exactly one of ``finished``, ``failed`` or ``cancelled`` is emitted, once.
    ``state`` is "running", "finished", "failed" or "cancelled"; ``last_event`` the latest progress.
    """

    progress = Signal(object)        # core.progress.ProgressEvent
    finished = Signal(object)        # the result
    failed = Signal(str, str)        # one-line message, details (traceback or stderr)
    cancelled = Signal()

    def __init__(self, title: str, parent: QObject | None = None):
        super().__init__(parent)
        self.title = title
        self.state = "running"
        self.last_event: ProgressEvent | None = None
        self.result: Any = None
        self.error: tuple[str, str] | None = None
        self._cancel_requested = False

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    def cancel(self) -> None:
        self._cancel_requested = True

    # -- called on the GUI thread by the runner ---------------------------------
    def _emit_progress(self, ev: ProgressEvent) -> None:
        if self.running:
            self.last_event = ev
            self.progress.emit(ev)

    def _end(self, state: str, payload: Any = None) -> None:
        if not self.running:
            return
        self.state = state
        if state == "finished":
            self.result = payload
            self.finished.emit(payload)
        elif state == "failed":
            self.error = payload
            self.failed.emit(*payload)
        else:
            self.cancelled.emit()


# ---------------------------------------------------------------------------------------
# threads
class _Relay(QObject):
    """Lives on the GUI thread; the worker emits these, Qt queues them across threads."""
    progress = Signal(object)
    done = Signal(str, object)
    held = Signal(int)          # an event was held back: deliver it in this many ms unless a newer one goes first


def _with_done_ids(ev: ProgressEvent, earlier: ProgressEvent | None) -> ProgressEvent:
    """``ev`` carrying also the ``done_ids`` of ``earlier``, an event of the same stage it replaces (the window shows
    an image the moment it is computed)."""
    ids = list((earlier.extra if earlier is not None else {}).get("done_ids", ()))
    if not ids:
        return ev
    return dataclasses.replace(ev, extra={**ev.extra, "done_ids": ids + list(ev.extra.get("done_ids", ()))})


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[Progress], Any], progress: Progress, relay: _Relay):
        super().__init__()
        self.setAutoDelete(False)  # the ThreadTask keeps it; Python owns its lifetime
        self._fn, self._progress, self._relay = fn, progress, relay

    def run(self) -> None:  # worker thread: never touch widgets here
        try:
            result = self._fn(self._progress)
        except Cancelled:
            self._relay.done.emit("cancelled", None)
        except BaseException as exc:
            msg = _one_line(exc)
            self._relay.done.emit("failed", (msg, traceback.format_exc()))
        else:
            if self._progress.cancelled:
                self._relay.done.emit("cancelled", None)
            else:
                self._relay.done.emit("finished", result)


class ThreadTask(Task):
    def __init__(self, title: str, fn: Callable[[Progress], Any], parent: QObject | None = None):
        super().__init__(title, parent)
        self._relay = _Relay()
        self._relay.progress.connect(self._emit_progress, Qt.ConnectionType.QueuedConnection)
        self._relay.done.connect(self._end, Qt.ConnectionType.QueuedConnection)
        self._relay.held.connect(self._deliver_later, Qt.ConnectionType.QueuedConnection)
        self._cancel_flag = threading.Event()
        self._lock = threading.Lock()
        self._last_sent = 0.0
        self._last_key: tuple | None = None
        self._held: ProgressEvent | None = None   # the latest event held back, not yet delivered
        self._delivery_due = False                # a delivery of the held event is scheduled on the GUI thread
        self.progress_obj = Progress(self._on_event, self._cancel_flag)
        self.runnable = _Runnable(fn, self.progress_obj, self._relay)

    def _on_event(self, ev: ProgressEvent) -> None:  # worker thread
        now = time.monotonic()
        key = (ev.stage, ev.total)
        final = ev.total > 0 and ev.done >= ev.total
        send: list[ProgressEvent] = []
        wait_ms = None
        with self._lock:
            held, self._held = self._held, None
            if key == self._last_key and not final and now - self._last_sent < PROGRESS_MIN_INTERVAL_S:
                self._held = _with_done_ids(ev, held)
                if not self._delivery_due:
                    self._delivery_due = True
                    wait_ms = max(1, int((PROGRESS_MIN_INTERVAL_S - (now - self._last_sent)) * 1000) + 1)
            else:
                if held is not None and (held.stage, held.total) != key:
                    send.append(held)          # the last word of the step before: delivered first, as it was
                    held = None
                send.append(_with_done_ids(ev, held))
                self._last_key, self._last_sent = key, now
        for e in send:
            self._relay.progress.emit(e)
        if wait_ms is not None:
            self._relay.held.emit(wait_ms)

    @Slot(int)
    def _deliver_later(self, ms: int) -> None:
        QTimer.singleShot(ms, self._deliver_held)

    def _deliver_held(self) -> None:
        """The held event, if no newer one went out meanwhile (GUI thread)."""
        with self._lock:
            ev, self._held = self._held, None
            self._delivery_due = False
            if ev is not None:
                self._last_key, self._last_sent = (ev.stage, ev.total), time.monotonic()
        if ev is not None:
            self._emit_progress(ev)

    def cancel(self) -> None:
        super().cancel()
        self._cancel_flag.set()

    @Slot(str, object)
    def _end(self, state: str, payload: Any = None) -> None:
        self._deliver_held()   # the stage's last event always reaches the window, before its end
        super()._end(state, payload)

    @Slot(object)
    def _emit_progress(self, ev: ProgressEvent) -> None:
        super()._emit_progress(ev)


# ---------------------------------------------------------------------------------------
# subprocesses
class ProcessTask(Task):
    """``python main.py ARGV`` whose stdout is one JSON event per line (docs/design.md)."""

    def __init__(self, title: str, argv: list[str], parent: QObject | None = None):
        super().__init__(title, parent)
        self.argv = list(argv)
        self._buf = b""
        self._stderr = ""
        self._done_result: Any = None
        self._got_done = False
        self._error: tuple[str, str] | None = None
        self.proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONIOENCODING", "utf-8")
        self.proc.setProcessEnvironment(env)
        self.proc.setWorkingDirectory(str(MAIN_PY.parent))
        if sys.platform != "win32":
            # Its own session: cancel() kills the whole group (data-loader workers included).
            self.proc.setUnixProcessParameters(QProcess.UnixProcessFlag.CreateNewSession)
        self.proc.readyReadStandardOutput.connect(self._read_stdout)
        self.proc.readyReadStandardError.connect(self._read_stderr)
        self.proc.finished.connect(self._on_finished)
        self.proc.errorOccurred.connect(self._on_error)

    def start(self) -> None:
        self.proc.start(sys.executable, [str(MAIN_PY), *self.argv])

    def cancel(self) -> None:
        if not self.running or self._cancel_requested:
            return
        super().cancel()
        self._kill_tree()

    def _kill_tree(self) -> None:
        pid = int(self.proc.processId() or 0)
        if pid <= 0:
            return
        if sys.platform == "win32":
            subprocess.run(["taskkill", "/T", "/F", "/PID", str(pid)], capture_output=True, check=False)
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()

    def _read_stdout(self) -> None:
        self._buf += bytes(self.proc.readAllStandardOutput())
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            self._handle_line(line.decode("utf-8", "replace").strip())

    def _read_stderr(self) -> None:
        self._stderr = (self._stderr + bytes(self.proc.readAllStandardError()).decode("utf-8", "replace"))
        self._stderr = self._stderr[-STDERR_TAIL_CHARS:]

    def _handle_line(self, line: str) -> None:
        ev = parse_line(line)      # the protocol is core.events'; stray prints are not events
        if ev is None:
            return
        if ev.kind == "progress":
            self._emit_progress(ev.progress)
        elif ev.kind == "done":
            self._got_done, self._done_result = True, ev.result
        elif ev.kind == "error":
            self._error = (ev.message, ev.details)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        if self._buf.strip():
            self._handle_line(self._buf.decode("utf-8", "replace").strip())
            self._buf = b""
        if self._cancel_requested:
            self._end("cancelled")
        elif self._error is not None:
            msg, details = self._error
            self._end("failed", (msg, details or self._stderr))
        elif status == QProcess.ExitStatus.NormalExit and code == 0:
            self._end("finished", self._done_result if self._got_done else None)
        else:
            how = "crashed" if status == QProcess.ExitStatus.CrashExit else f"exited with code {code}"
            # a traceback's last line says what went wrong
            why = plain_message("", self._stderr) if last_meaningful_line(self._stderr) else ""
            message = f"{self.title} stopped: {why} (the worker process {how})" if why else \
                f"{self.title}: the worker process {how}"
            self._end("failed", (message, self._stderr or "(no output on stderr)"))

    def _on_error(self, err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart:
            self._end("failed", (f"{self.title}: could not start {sys.executable}", self.proc.errorString()))


# ---------------------------------------------------------------------------------------
class TaskRunner(QObject):
    """Starts background work and tracks what is running (for the status bar)."""

    task_started = Signal(object)
    task_ended = Signal(object)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._active: list[Task] = []

    def run_in_thread(self, fn: Callable[[Progress], Any], title: str) -> Task:
        """Run ``fn(progress)`` on a worker thread; the Task's signals arrive on the GUI thread."""
        task = ThreadTask(title, fn, self)
        self._track(task)
        self._pool.start(task.runnable)
        return task

    def run_subprocess(self, argv: list[str], title: str) -> Task:
        """Run ``python main.py *argv`` (a CLI stage with ``--events json``) as a child process."""
        task = ProcessTask(title, argv, self)
        self._track(task)
        task.start()
        return task

    def active(self) -> list[Task]:
        return list(self._active)

    def cancel_all(self) -> None:
        for t in self.active():
            t.cancel()

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until the thread pool is empty (application shutdown, tests)."""
        return self._pool.waitForDone(timeout_ms)

    def _track(self, task: Task) -> None:
        self._active.append(task)
        for sig in (task.finished, task.failed, task.cancelled):
            sig.connect(lambda *_, t=task: self._ended(t))
        self.task_started.emit(task)

    def _ended(self, task: Task) -> None:
        if task in self._active:
            self._active.remove(task)
            self.task_ended.emit(task)
