"""What the window remembers per project: the last image, the layers shown, the overlay and the dock layout.

Kept in QSettings under a key made from the project file's resolved path (not in the project file: two
inspectors sharing one project keep their own screens). Reopening a project puts all of it back.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QSettings

LAYER_KEYS = ("overlay", "curated", "proposal", "prediction", "gt")


def _group(project_path: Path) -> str:
    digest = hashlib.sha1(str(Path(project_path).resolve()).encode("utf-8")).hexdigest()[:16]
    return f"projects/{digest}"


class ProjectMemory:
    """Reads and writes one project's screen state; ``path`` None = no project (everything is a no-op)."""

    def __init__(self, path: Path | None):
        self.group = _group(path) if path is not None else None

    def _get(self, key: str, default=None):
        if self.group is None:
            return default
        v = QSettings().value(f"{self.group}/{key}")
        return default if v is None else v

    def _set(self, key: str, value) -> None:
        if self.group is not None:
            QSettings().setValue(f"{self.group}/{key}", value)

    # -- last image --------------------------------------------------------------------------
    def last_image(self) -> int | None:
        v = self._get("last_image")
        try:
            return int(v) if v is not None else None
        except (TypeError, ValueError):
            return None

    def set_last_image(self, image_id: int | None) -> None:
        if image_id is not None:
            self._set("last_image", int(image_id))

    # -- layers and overlay -------------------------------------------------------------------------
    def layers(self) -> dict[str, bool]:
        out = {}
        for k in LAYER_KEYS:
            v = self._get(f"layer_{k}")
            if v is not None:
                out[k] = v in (True, "true", "1", 1)
        return out

    def set_layer(self, key: str, on: bool) -> None:
        self._set(f"layer_{key}", bool(on))

    def overlay(self) -> dict:
        """{'source': head index | 'fg' | 'none', 'cmap': name, 'opacity': 0-100}, what was saved of it."""
        out = {}
        src = self._get("overlay_source")
        if src is not None:
            out["source"] = int(src) if str(src).lstrip("-").isdigit() else str(src)
        cmap = self._get("overlay_cmap")
        if cmap is not None:
            out["cmap"] = str(cmap)
        op = self._get("overlay_opacity")
        if op is not None:
            out["opacity"] = int(op)
        return out

    def set_overlay(self, source, cmap: str, opacity: int) -> None:
        self._set("overlay_source", source if isinstance(source, str) else int(source))
        self._set("overlay_cmap", cmap)
        self._set("overlay_opacity", int(opacity))

    # -- dock layout ----------------------------------------------------------------------------------
    def dock_state(self):
        return self._get("dock_state")

    def set_dock_state(self, state) -> None:
        self._set("dock_state", state)
