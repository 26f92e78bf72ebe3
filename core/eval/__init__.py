"""WSOL metrics on numpy arrays (wsolevaluation conventions): MaxBoxAcc(V2), Top-1/5 loc, PxAP,
TS-CAM error analysis, operating-threshold accuracy and the wsolevaluation metadata reader.

No database, no Qt: maps and boxes in, numbers out.
"""
from core.eval.boxes_from_maps import (
                                       binarise,
                                       boxes_from_binary,
                                       iou_over_thresholds,
                                       map_to_boxes,
                                       prepare_map,
                                       resize_boxes,
                                       threshold_grid,
)
from core.eval.loc_errors import ErrorThresholds, classify_error, localization_errors
from core.eval.maxboxacc import IOU_THRESHOLDS, BoxAccCurves, EvalConfig, class_correct, compute_curves, max_box_acc
from core.eval.operating import (
                                       OPERATING_NORMALISED,
                                       OPERATING_THRESHOLDS,
                                       box_acc_at_threshold,
                                       box_acc_for_boxes,
                                       box_acc_from_ious,
                                       operating_point,
                                       per_image_iou,
                                       per_image_iou_for_boxes,
)
from core.eval.pxap import PxAPAccumulator, pxap
from core.eval.report import EvalResult, evaluate_boxes, evaluate_maps, format_table
from core.eval.wsol_metadata import MetadataError, WSOLMetadata, read_wsol_metadata

__all__ = [
    "binarise", "boxes_from_binary", "iou_over_thresholds", "map_to_boxes", "prepare_map", "resize_boxes",
    "threshold_grid",
    "ErrorThresholds", "classify_error", "localization_errors",
    "IOU_THRESHOLDS", "BoxAccCurves", "EvalConfig", "class_correct", "compute_curves", "max_box_acc",
    "OPERATING_NORMALISED", "OPERATING_THRESHOLDS", "box_acc_at_threshold", "box_acc_for_boxes",
    "box_acc_from_ious", "operating_point", "per_image_iou", "per_image_iou_for_boxes",
    "PxAPAccumulator", "pxap",
    "EvalResult", "evaluate_boxes", "evaluate_maps", "format_table",
    "MetadataError", "WSOLMetadata", "read_wsol_metadata",
]
