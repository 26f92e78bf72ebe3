"""Opening a project in the window loads no model code: torchvision, OpenCV and the pipeline come in only when a
stage runs. (torchvision alone brought sympy and triton along: about 0.3 GB more memory for every window.)"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.main_window import MainWindow
from core.store.project import Project
w = MainWindow(Project.open(sys.argv[1]), probe_device=False)
w.show()
for _ in range(30):
    app.processEvents()
print(sorted(m for m in ("torchvision", "cv2", "core.pipeline", "sympy") if m in sys.modules))
w.shutdown()
"""


def test_opening_a_project_loads_no_model_code(gui_project):
    path = gui_project.path
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], cwd=REPO, capture_output=True, text=True,
                       timeout=240, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"
