"""Opening the real main window in a test: shown, exposed and focused as a user finds it, shut down after."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def open_window(qtbot, project, size: tuple[int, int] | None = (1300, 850)) -> Iterator:
    """The ``MainWindow`` on ``project`` (a ``Project``), ``size`` px (None: the size the window opens at by
    itself), its canvas focused; closed on exit."""
    from app.launch import preload_heavy_modules
    from app.main_window import MainWindow

    preload_heavy_modules()  # as run_gui does before the window opens
    w = MainWindow(project, probe_device=False)
    # not qtbot.addWidget: pytest-qt would close the window before this teardown, and a task still running on a
    # busy machine then makes close ask "Stop the running task?" in a modal box nobody answers
    if size is not None:
        w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.canvas.setFocus()
    try:
        yield w
    finally:
        w.shutdown()
        w.close()
        w.deleteLater()
