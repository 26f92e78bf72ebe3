"""Puts the current image's stored state on screen: pixels, box layers, maps, panels.

It listens to the ``Session`` and reads the store; it writes nothing but the record of an image its canvas could not
decode (core/data/unreadable.py), so that the stages skip it as they skip those they failed on themselves.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from app.canvas.colormaps import colorize, value_range
from app.panels.attention_panel import head_name
from app.panels.layers_panel import NO_OVERLAY, PREDICTED_FG
from app.panels.review_rows import run_name
from core.data.unreadable import forget_unreadable, record_unreadable, unreadable_words
from core.errors import ProjectWriteError
from core.run_figures import threshold_words
from core.store.records import PredictedBox, PredictionRecord


class ImagePresenter(QObject):
    def __init__(self, session, canvas, browser, attention, proposals, layers, status, parent=None):
        super().__init__(parent)
        self.s, self.canvas, self.browser = session, canvas, browser
        self.attention, self.proposals, self.layers, self.status = attention, proposals, layers, status
        self.maps: dict[int, np.ndarray] = {}
        self.prediction: PredictionRecord | None = None
        self._overlay_before_focus = None   # the overlay the user had chosen before focus mode
        session.project_changed.connect(self._project_changed)
        session.image_changed.connect(self._image_changed)
        session.boxes_changed.connect(self._boxes_changed)
        session.proposals_changed.connect(self._proposals_changed)
        session.image_state_changed.connect(self._image_state_changed)
        session.maps_changed.connect(self._maps_changed)
        session.predictions_changed.connect(self._predictions_changed)
        proposals.filter_changed.connect(self.show_proposals)
        layers.overlay_changed.connect(self.show_overlay)
        attention.head_chosen.connect(self._head_chosen)
        canvas.image_failed.connect(self._image_failed)
        canvas.image_undecodable.connect(self._image_undecodable)

    @property
    def project(self):
        return self.s.project

    # -- whole image ----------------------------------------------------------------------
    def _project_changed(self, project) -> None:
        self.browser.set_project(project)
        self.update_counts()

    def _image_changed(self, rec) -> None:
        self.browser.select_image(rec.id if rec is not None else None)
        if rec is None:
            self._say_withheld()
            self.canvas.set_image(None)
            self.maps, self.prediction = {}, None
            self.attention.set_maps({})
            self.proposals.set_proposals([])
            self.proposals.set_prediction(None)
            self.layers.set_sources([], False)
            return
        self.canvas.set_image(rec.id, self.project.image_root / rec.rel_path, (rec.width, rec.height))
        self._say_withheld()
        if (recorded := self.browser.model.unreadable_reason(rec)) is not None:
            self._say_unreadable(recorded)       # at once: the decode the canvas tries will fail again
        self._load_maps()
        self.show_curated()
        self._load_proposals(new_image=True)
        self.show_predictions(new_image=True)
        self.canvas.set_boxes("gt", [(b.id, b.xyxy, "", -1) for b in self.project.boxes.gt(rec.id)])

    def _image_failed(self, image_id: int, reason: str) -> None:
        """The canvas could not decode the image on screen: say why and what to do where the image would be (the
        recorded reason, info's words, when a stage recorded it), not a blank canvas."""
        rec = self.s.image
        if rec is None or rec.id != image_id:
            return
        recorded = self.browser.model.unreadable_reason(rec)
        if recorded is None:       # not (yet) recorded by a stage: no promise that the stages skip it
            self.canvas.set_failure(f"This image could not be decoded.\n\nunreadable: {reason}\n"
                                    "fix or replace the file")
            self.s.message.emit(f"{rec.name}: could not be decoded ({reason})")
            return
        self._say_unreadable(recorded)

    def _say_unreadable(self, reason: str) -> None:
        """A recorded failure: its reason, that the stages skip it and its suggestions are not offered, how to have
        this one image read again."""
        name = self.s.image.name if self.s.image else "this image"
        self.canvas.set_failure(f"{name} could not be decoded.\n\n{unreadable_words(name, reason)}")
        self.s.message.emit(f"{name}: could not be decoded ({reason})")

    def _say_withheld(self) -> None:
        """The panels say why the image on screen lists no maps or suggestions when its file no longer decodes."""
        name = self.s.image.name if self.s.image is not None else ""
        text = (f"{name} could not be decoded: its stored maps and suggestions are kept but not offered (see the "
                f"card on the image)") if self.unreadable() is not None else None
        self.proposals.set_withheld(text)
        self.attention.set_withheld(text)

    def unreadable(self) -> str | None:
        """The recorded reason the image on screen failed to decode (the project's record, as the list shows it),
        or None. Its stored maps, proposals and predictions are kept but not shown: they were made from a file that
        no longer reads, and accepting one would put a box on an image nobody can see."""
        return self.browser.model.unreadable_reason(self.s.image) if self.s.image is not None else None

    def _image_undecodable(self, image_id: int, reason: str) -> None:
        """The canvas read the file as the stages do and it is not a usable image (replaced or cut short since it
        was imported): record it, so that the list marks it, training and prediction skip it, and its earlier
        suggestions are withdrawn from the screen."""
        rec = self.s.image
        if rec is None or rec.id != image_id or self.unreadable() is not None:
            return
        try:
            record_unreadable(self.project, rec.rel_path, reason)
        except ProjectWriteError as exc:      # not recorded: still said on the card (image_failed follows)
            self.s.message.emit(f"{rec.name}: could not be decoded ({reason}); not recorded: {exc}")
            return
        self.browser.model.reload_unreadable()
        self._withdraw_suggestions()

    def _withdraw_suggestions(self) -> None:
        self._say_withheld()
        self._load_maps()
        self._load_proposals(new_image=True)
        self.show_predictions(new_image=True)

    def read_again(self) -> None:
        """Image > Read this image again: forget the image's recorded failure and read its file again (the canvas
        records it again if it still fails)."""
        rec = self.s.image
        if rec is None or self.unreadable() is None:
            self.s.message.emit("Read again: the image on screen is not marked unreadable")
            return
        try:
            forget_unreadable(self.project, rec.rel_path)
        except ProjectWriteError as exc:
            self.s.message.emit(f"{rec.name}: not read again: {exc}")
            return
        self.browser.model.reload_unreadable()
        self.canvas.set_failure(None)
        self._image_changed(rec)
        self.s.message.emit(f"{rec.name}: reading the file again")

    # -- layers ---------------------------------------------------------------------------
    def show_curated(self) -> None:
        if self.s.image is None:
            return
        rows = []
        for b in self.project.boxes.list(self.s.image.id):
            label = self.s.class_name(b.class_id)
            if b.source in ("proposal", "prediction") and b.score is not None:
                label += f" {b.score:.2f}"
            rows.append((b.id, b.xyxy, label, self.s.class_index(b.class_id)))
        self.canvas.set_boxes("curated", rows)

    def _load_proposals(self, new_image: bool = False) -> None:
        self.proposals.set_proposals(self.project.proposals.list(self.s.image.id)
                                     if self.s.image and self.unreadable() is None else [],
                                     new_image=new_image)
        self.show_proposals()

    # -- focus mode ------------------------------------------------------------------------------
    def set_focus_mode(self, on: bool) -> None:
        if on:
            self._overlay_before_focus = self.layers.wanted_source()
        elif self._overlay_before_focus is not None:
            # kept as the choice even where this image lacks that map (the next image may have it)
            self.layers.restore(source=self._overlay_before_focus)
            self._overlay_before_focus = None
            self.show_overlay()

    def show_focus(self, rec) -> None:
        """Focus mode: name the proposal or predicted box under review on the canvas and show its map."""
        held = self.proposals.hidden_count() if not self.proposals.show_hidden else 0
        gated = f"{held} held back by the suggestion gate (Ctrl+6)" if held else ""
        if rec is None:
            pending = len(self.proposals.visible()) + len(self.proposals.visible_predictions())
            # "all decided" only where something was listed: an image without suggestions (a background class's,
            # or one not yet computed) has none, not all decided
            listed = bool(self.proposals.shown() or self.proposals.predictions())
            self.canvas.set_banner(None if not self.canvas.focus_mode else
                                   "Reviewing suggestions: none selected (Tab: next)" + (f"; {gated}" if held else "")
                                   if pending else
                                   f"Reviewing suggestions: {'all decided' if listed else 'none'} on this image "
                                   "(D: next image, V: leave)" + (f"; {gated}" if held else ""))
            return
        if isinstance(rec, PredictedBox):
            # the number is the box's row in the table (over every predicted box); the count is what is on screen
            rank = next((i for i, b in enumerate(self.proposals.predictions(), start=1) if b.id == rec.id), 0)
            shown = len(self.proposals.visible_predictions())
            self.canvas.set_banner(f"Predicted box #{rank} \u00b7 {shown} shown" + (f", {gated}" if held else "") +
                                   f" \u00b7 score {rec.score:.3f} \u00b7 "
                                   f"{run_name(self.prediction)}  \u2014  F accept \u00b7 B reject "
                                   f"\u00b7 Tab next \u00b7 V leave")
            if not self.layers.choose(PREDICTED_FG):
                self.layers.choose(NO_OVERLAY)
            return
        total = len(self.proposals.shown())
        self.canvas.set_banner(f"Proposal #{rec.rank} of {total} \u00b7 score {rec.score:.3f} \u00b7 from the "
                               f"{head_name(rec.source_map)} map  \u2014  F accept \u00b7 B reject \u00b7 "
                               f"Tab next \u00b7 V leave")
        if not self.layers.choose(rec.source_map):
            self.layers.choose(NO_OVERLAY)

    def show_proposals(self) -> None:
        self.canvas.set_boxes("proposal", [(p.id, p.xyxy, f"#{p.rank} {p.score:.2f}", -1)
                                           for p in self.proposals.visible()])

    def show_predictions(self, new_image: bool = False) -> None:
        """The image's latest prediction: its pending boxes on the canvas, every box in the review table."""
        self.prediction = self.project.maps.prediction(self.s.image.id) \
            if self.s.image and self.unreadable() is None else None
        self.proposals.set_prediction(self.prediction, new_image=new_image)
        ranks = {b.id: i for i, b in enumerate(self.proposals.predictions(), start=1)}
        self.canvas.set_boxes("prediction", [(b.id, b.xyxy, f"pred #{ranks[b.id]} {b.score:.2f}", -1)
                                             for b in self.proposals.visible_predictions()])
        run = self.prediction.run_id if self.prediction is not None else None
        config = self.project.maps.prediction_run_config(run) if run is not None else {}
        self.layers.set_prediction_run(self.prediction, config.get("operating_threshold"),
                                       chosen=threshold_words(config) if run is not None else None)
        self._offer_sources()

    # -- maps -------------------------------------------------------------------------------
    def _load_maps(self) -> None:
        rec = self.s.image
        self.maps = self.project.maps.attention(rec.id) if rec is not None and self.unreadable() is None else {}
        size = (rec.width, rec.height) if rec is not None else (1, 1)
        wanted = self.layers.wanted_source()
        self.attention.set_maps(self.maps, size, checked=wanted if isinstance(wanted, int) else None,
                                cmap=self.layers.colormap())
        self._offer_sources()

    def _offer_sources(self) -> None:
        self.layers.set_sources(list(self.maps), self.prediction is not None)
        self.show_overlay()

    def show_overlay(self) -> None:
        src = self.layers.wanted_source()
        cmap = self.layers.colormap()
        img = scale = None
        if isinstance(src, int) and src in self.maps:
            lo, hi = value_range(self.maps[src])
            img = colorize(self.maps[src], cmap, scale=True, fade=True)
            scale = (cmap, lo, hi, f"attention, {head_name(src)}: scaled per map")
        elif src == PREDICTED_FG and self.prediction is not None:
            # stretched per image: a calibrated map spans a narrow band (e.g. 0.48-0.56) and in its own [0, 1]
            # scale reads as a uniform wash; the bar gives the probabilities at both ends
            lo, hi = value_range(self.prediction.fg_map)
            img = colorize(self.prediction.fg_map, cmap, scale=True, fade=True)
            scale = (cmap, lo, hi, f"foreground probability, {run_name(self.prediction)}: "
                                   f"stretched per image")
        self.canvas.set_overlay(img, scale)
        self.canvas.set_overlay_opacity(self.layers.opacity_value())
        self.attention.set_checked(src if isinstance(src, int) else None)
        if self.attention.cmap_name != cmap:
            self.attention.set_colormap(cmap)

    def _head_chosen(self, head: int) -> None:
        if not self.layers.choose(head):
            self.layers.choose(NO_OVERLAY)
        if not self.canvas.layer_visible("overlay"):
            self.s.message.emit("The overlay layer is hidden (View \u25b8 Show overlay, O)")

    # -- change notices -----------------------------------------------------------------------
    def _boxes_changed(self, image_id: int) -> None:
        if image_id == self.s.image_id:
            self.show_curated()
        self.browser.model.refresh_image(image_id)
        self.update_counts()

    def _proposals_changed(self, image_id: int) -> None:
        if image_id == self.s.image_id:
            self._load_proposals()

    def _image_state_changed(self, image_id: int) -> None:
        self.browser.model.refresh_image(image_id)
        self.update_counts()

    def _maps_changed(self, image_id: int) -> None:
        if image_id == -1:      # the attention stage ran: it may have recorded images that fail to decode
            was = self.unreadable()
            self.browser.model.reload_unreadable()
            if self.s.image is not None and was is None and (now := self.unreadable()) is not None:
                self._say_unreadable(now)
                self._withdraw_suggestions()
                return
        if self.s.image is not None and image_id in (-1, self.s.image_id):
            self._load_maps()

    def _predictions_changed(self) -> None:
        if self.s.image is not None:
            self.show_predictions()

    def update_counts(self) -> None:
        if self.project is None:
            self.status.counts.setText("no project")
            return
        c = self.project.images.counts()
        boxes = sum(self.project.boxes.counts_by_source().values())
        self.status.set_counts(c["total"], c["review"].get("verified", 0), c["review"].get("flagged", 0), boxes)
