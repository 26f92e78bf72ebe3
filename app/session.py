"""The open project and the image being inspected, shared by every panel.

``Session`` is the GUI's document: it holds the ``core.store.Project``, the current image and
the undo stack, and tells panels what changed. It never computes anything itself: reads go
to the store, edits go through ``app.commands`` (one store transaction each).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.commands import BoxRefs
from core.store.records import ClassRecord, ImageRecord


class Session(QObject):
    project_changed = Signal(object)      # Project | None
    image_changed = Signal(object)        # ImageRecord | None
    boxes_changed = Signal(int)           # image id: curated boxes added / moved / deleted / re-classed
    proposals_changed = Signal(int)       # image id: statuses or a fresh list
    image_state_changed = Signal(int)     # image id: review state / class
    maps_changed = Signal(int)            # image id, or -1 for "maybe any image"
    predictions_changed = Signal()
    active_class_changed = Signal(object)  # ClassRecord | None
    message = Signal(str)                 # a short line for the status bar

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project = None
        self.image: ImageRecord | None = None
        self.undo_stack = QUndoStack(self)
        self.box_refs = BoxRefs()
        self._classes: list[ClassRecord] = []
        self.active_class: ClassRecord | None = None  # chosen with 1-9 while no box is selected
        self._background_ids: set[int] = set()

    # -- project --------------------------------------------------------------------
    def set_project(self, project) -> None:
        old = self.project
        self.undo_stack.clear()
        self.box_refs.clear()
        self.project = project
        self.image = None
        self.active_class = None
        self.reload_classes()
        self.project_changed.emit(project)
        if old is not None and old is not project:
            old.close()

    def reload_classes(self) -> None:
        self._classes = self.project.classes() if self.project is not None else []
        self._background_ids = set()
        if self.project is not None:
            # the torch-free settings: importing core.pipeline here loaded torchvision and OpenCV into every window
            from core.settings import load_settings
            cfg = load_settings(self.project, fallback=True)
            self._background_ids = {c.id for c in self._classes if cfg.is_background(c.name)}

    def is_background(self, class_id: int | None) -> bool:
        """Whether images of this class show no object (the project's background classes)."""
        return class_id in self._background_ids

    def background_box_answer(self, class_id: int | None) -> bool | None:
        """The answer kept with the project to "keep boxes of this background class?" (core.class_roles): True
        kept, False refused, None not asked yet. Read from the project each time: the database is the truth."""
        if self.project is None or class_id is None:
            return None
        from core.class_roles import box_answer
        return box_answer(self.project, self.class_name(class_id))

    @property
    def classes(self) -> list[ClassRecord]:
        return list(self._classes)

    def class_at(self, position: int) -> ClassRecord | None:
        """The class bound to number key ``position`` (1-based, in display order)."""
        return self._classes[position - 1] if 1 <= position <= len(self._classes) else None

    def class_name(self, class_id: int | None) -> str:
        for c in self._classes:
            if c.id == class_id:
                return c.name
        return "(no class)"

    def class_index(self, class_id: int | None) -> int:
        for i, c in enumerate(self._classes):
            if c.id == class_id:
                return i
        return -1

    def default_class_id(self) -> int | None:
        """Class given to a new or accepted box: the chosen one, else the image's label."""
        if self.active_class is not None:
            return self.active_class.id
        return self.image.class_id if self.image is not None else None

    def set_active_class(self, cls: ClassRecord | None) -> None:
        self.active_class = cls
        self.active_class_changed.emit(cls)

    # -- current image ------------------------------------------------------------------
    def set_image(self, image_id: int | None) -> None:
        if self.project is None or image_id is None:
            self.image = None
        else:
            self.image = self.project.images.get(image_id)
        self.image_changed.emit(self.image)

    def reload_image(self) -> None:
        """Re-read the current record (review state, box count) without re-loading pixels."""
        if self.project is not None and self.image is not None:
            self.image = self.project.images.get(self.image.id)

    @property
    def image_id(self) -> int | None:
        return self.image.id if self.image is not None else None

    # -- change notices from commands -----------------------------------------------------
    def show_image_of_edit(self, image_id: int) -> None:
        """Undo/redo of an edit on another image first navigates there, so the change is seen."""
        if image_id != self.image_id:
            self.set_image(image_id)

    def notify_boxes(self, image_id: int) -> None:
        self.reload_image()
        self.boxes_changed.emit(image_id)

    def notify_proposals(self, image_id: int) -> None:
        self.reload_image()
        self.proposals_changed.emit(image_id)
        self.boxes_changed.emit(image_id)

    def notify_image_state(self, image_id: int) -> None:
        self.reload_image()
        self.image_state_changed.emit(image_id)
