"""``python main.py [PROJECT]``: start the GUI on a project, or on the built-in demo project."""
from __future__ import annotations

import contextlib
import gc
import os
import sys
from pathlib import Path

APP_NAME = "DiPS Studio"
ORG_NAME = "DiPS Studio"
ORG_DOMAIN = "dips-studio.org"
DEMO_ENV = "DIPS_STUDIO_DEMO_DIR"


def demo_folder() -> Path:
    """Where the demo project lives: $DIPS_STUDIO_DEMO_DIR, else the user data folder."""
    if os.environ.get(DEMO_ENV):
        return Path(os.environ[DEMO_ENV]).expanduser()
    import platformdirs
    return Path(platformdirs.user_data_dir("dips-studio")) / "demo"


def _import_torch() -> None:
    # without torch the inspector still works; the stages will report what is missing
    with contextlib.suppress(ImportError):
        import torch  # noqa: F401


def preload_in_background(then) -> None:
    """``preload_heavy_modules`` with the window already on screen: torch (seconds) is imported on a
    daemon thread with the collector paused (no full collections holding the GIL meanwhile), pyqtgraph
    (Qt widgets) on the GUI thread once torch is in; then the heap is frozen and ``then()`` runs on the
    GUI thread."""
    from app.probe import ask_in_background

    gc.disable()

    def loaded(_result) -> None:
        try:
            import pyqtgraph  # noqa: F401
        except ImportError:
            pass
        finally:
            gc.enable()
            gc.freeze()
        then()

    ask_in_background(_import_torch, loaded, None, "preload-models")


def preload_heavy_modules() -> None:
    """Import torch and pyqtgraph before the event loop runs, then freeze the heap.

    Imported later on a worker thread, torch's ~150k new objects trigger full garbage
    collections that hold the GIL for ~100 ms each: visible hitches in the GUI. Here the
    cost is paid once at start-up, with the collector paused, and the result is frozen
    (``gc.freeze``) so later collections skip it.
    """
    gc.disable()
    try:
        import pyqtgraph  # noqa: F401
        import torch  # noqa: F401
    except ImportError:  # the inspector still works; the stages will report what is missing
        pass
    finally:
        gc.enable()
        gc.freeze()


def make_app(argv: list[str]):
    from PySide6.QtWidgets import QApplication

    from app.theme import app_icon, follow_system_theme

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "dips-studio", *argv])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setOrganizationDomain(ORG_DOMAIN)
    app.setDesktopFileName("dips-studio")
    app.setWindowIcon(app_icon())
    follow_system_theme(app)
    return app


def _open_initial(window, argv: list[str]) -> None:
    """Open PROJECT, or the demo (generated on a worker thread the first time, with progress)."""
    if argv:
        window.files.open_path(argv[0])
        return
    folder = demo_folder()

    def prepare(progress):
        from core.pipeline import ensure_demo_project
        return ensure_demo_project(folder, progress=progress)

    task = window.background.run(prepare, "Preparing the demo project")
    task.finished.connect(window.files.open_path)


def run_gui(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("-")]
    app = make_app([a for a in argv if a.startswith("-")])  # Qt's own options (-platform ...) pass through

    start_gui(args)
    return app.exec()


def start_gui(args: list[str]):
    """Show the window at once, in a 'loading models' state, and open the project once torch is in.

    Returns the window (the event loop is the caller's)."""
    from app.main_window import MainWindow

    window = MainWindow(auto_compute=True, probe_device=False)
    window.set_loading(True)
    window.show()

    def ready() -> None:
        window.set_loading(False)
        window.probe_device()
        _open_initial(window, args)

    preload_in_background(ready)
    return window
