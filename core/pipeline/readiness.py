"""What training needs that the project does not have yet, in the inspector's words.

Training learns from the training split: the classifier f_c from every labelled image, the localizer f_l from
object-class images with proposals or curated boxes (core.pipeline.train_stage.build_samples). Proposals need
attention maps. :func:`training_readiness` counts what is there, so the window can say what is missing and
offer to compute it before a run that would otherwise fail after minutes, and ``train`` can refuse at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.data.unreadable import UnreadableFiles
from core.pipeline.config import PipelineConfig, load_config
from core.store.repos.images import ImageFilter


@dataclass
class TrainingReadiness:
    """Counts over the training split (images on disk)."""
    labelled: int = 0                  # images with a class
    object_classes: list[str] = field(default_factory=list)
    background_classes: list[str] = field(default_factory=list)
    object_images: int = 0             # labelled images of object classes
    without_maps: int = 0              # ... without attention maps (so without proposals too, unless curated)
    without_boxes: int = 0             # ... with neither proposals nor curated boxes
    unreadable: int = 0                # ... that failed to decode (not counted above: computing cannot fix them)

    @property
    def trainable(self) -> int:
        """Object images training can learn boxes from."""
        return self.object_images - self.without_boxes - self.unreadable

    def blocking(self) -> str | None:
        """Why training cannot run however long one waits, or None."""
        if self.labelled == 0:
            return ("No image of the training split has a class. DiPS learns from each image's class: put the "
                    "images in one sub-folder per class (or give a label CSV) and re-scan the image folder.")
        if not self.object_classes:
            return ("Every class is marked as showing no object (" + ", ".join(self.background_classes) + "), "
                    "so there is nothing to learn to find. Mark the class whose images show the object in "
                    "File > Background classes.")
        if self.object_images == 0:
            return ("The training split has no image of the object classes (" + ", ".join(self.object_classes)
                    + "): there is nothing to learn boxes from.")
        return None

    def to_compute(self) -> list[str]:
        """The stages to run before training (core.stages names): attention maps, then proposals."""
        if self.blocking() is not None or self.without_boxes == 0:
            return []
        return ["attention", "proposals"] if self.without_maps else ["proposals"]

    def missing_text(self) -> str:
        """What is missing, one or two sentences; empty when nothing is."""
        if self.without_boxes == 0:
            return ""
        n, m = self.without_boxes, self.object_images
        if self.without_maps:
            return (f"{self.without_maps} of the {m} training images that show the object have no attention maps "
                    f"yet, and {n} have no proposals (the boxes DiPS suggests from the maps and learns from).")
        return (f"{n} of the {m} training images that show the object have no proposals yet (the boxes DiPS "
                "suggests from the attention maps and learns from).")


def training_readiness(project, cfg: PipelineConfig | None = None) -> TrainingReadiness:
    """Count what training will find in ``project`` with ``cfg`` (default: the project's saved settings)."""
    cfg = cfg if cfg is not None else load_config(project)
    names = project.class_names()
    out = TrainingReadiness()
    out.object_classes = [n for n in names.values() if not cfg.is_background(n)]
    out.background_classes = [n for n in names.values() if cfg.is_background(n)]
    records = [r for r in project.images.list(ImageFilter(include_missing=False))
               if r.class_id in names and r.split == "train"]
    out.labelled = len(records)
    objects = [r for r in records if not cfg.is_background(names[r.class_id])]
    out.object_images = len(objects)
    if not objects:
        return out
    with_maps = project.maps.image_ids_with_attention(cfg.backbone_key)
    with_props = project.proposals.image_ids_with_proposals()
    unreadable = None
    for r in objects:
        if r.n_boxes == 0 and r.id not in with_props:
            # a file recorded as undecodable, unchanged since, gets no maps from any stage: offering to compute
            # them would promise what cannot come (training goes on without it, as attention and info say)
            unreadable = unreadable or UnreadableFiles(project, project.image_root)
            if unreadable.still_unreadable(r.rel_path) is not None:
                out.unreadable += 1
                continue
            out.without_boxes += 1
            if r.id not in with_maps:
                out.without_maps += 1
    return out
