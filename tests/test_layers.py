"""The layering rules of docs/design.md, checked on the source (import-linter checks them too, in `make test`)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "qtpy", "app")
STORE = ("core.store", "sqlalchemy", "core.pipeline", "core.cli")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for mod in imported_modules(path):
            if any(mod == f or mod.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    return bad


def test_core_never_imports_qt_or_app():
    assert offenders("core", QT) == []


def test_method_training_and_metrics_know_nothing_of_the_database():
    for sub in ("core/dips", "core/train", "core/eval"):
        assert offenders(sub, STORE) == []
