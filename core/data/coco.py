"""COCO JSON in and out: the public names of ``coco_export`` (writing a project's boxes) and
``coco_import`` (reading another tool's boxes into a project), importable from here."""
from core.data.coco_export import (
    BOX_KINDS,
    CocoExportReport,
    ExportCounts,
    build_coco,
    coco_parts,
    export_coco,
    export_counts,
    write_json_atomic,
)
from core.data.coco_import import SKIP_REASONS, CocoImportReport, import_coco, load_coco
from core.errors import CocoError

__all__ = ["BOX_KINDS", "SKIP_REASONS", "CocoError", "CocoExportReport", "CocoImportReport", "ExportCounts",
           "build_coco", "coco_parts", "export_coco", "export_counts", "import_coco", "load_coco", "write_json_atomic"]
