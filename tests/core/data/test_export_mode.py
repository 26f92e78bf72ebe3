"""Exported files are ordinary files: their mode follows the umask (0644 under 022), as any editor's would."""
from __future__ import annotations

import os

from core.data.coco import export_coco


def test_exports_follow_the_umask(project, tmp_path):
    old = os.umask(0o022)
    try:
        export_coco(project, tmp_path / "out.json", boxes="all")
        assert (tmp_path / "out.json").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        export_coco(project, tmp_path / "private.json", boxes="all")
        assert (tmp_path / "private.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
