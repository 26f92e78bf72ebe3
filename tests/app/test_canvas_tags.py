"""Box tags (``#rank score`` on a proposal, a class on a curated box) stay readable at the image's top edge: on a
short canvas, where the view has no room above a box touching the top, the tag hangs inside the box; elsewhere it
sits above the box as always. Driven in the real window."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF

from core.store.repos.proposals import NewProposal

pytestmark = pytest.mark.usefixtures("qtbot")


def tag_rect(w, kind: str, key: int) -> QRectF:
    """The tag's rectangle in viewport pixels, as painted."""
    label = w.canvas.items_of(kind)[key].label
    return label.deviceTransform(w.canvas.viewportTransform()).mapRect(label.boundingRect())


def box_rect(w, kind: str, key: int) -> QRectF:
    """The box's outline in viewport pixels."""
    item = w.canvas.items_of(kind)[key]
    return w.canvas.viewportTransform().mapRect(item.mapRectToScene(item.rect()))


def test_a_tag_at_the_images_top_edge_on_a_short_canvas_is_drawn_inside_the_box_not_cut_off(qtbot, main_window):
    w = main_window
    w.resize(1900, 400)          # wide and as short as the window goes: the 160x120 image fills the canvas's height
    qtbot.waitUntil(lambda: w.canvas.mapFromScene(0, 0).y() < 10, timeout=5000)
    image_id = w.session.image.id
    w.session.project.proposals.replace(image_id, [NewProposal((10, 0, 70, 50), -1, 0.9, 0.8),
                                                   NewProposal((90, 60, 150, 110), 0, 0.6, 0.7)])
    w.session.proposals_changed.emit(image_id)
    qtbot.waitUntil(lambda: len(w.canvas.items_of("proposal")) == 2, timeout=5000)
    top, low = sorted(w.canvas.items_of("proposal"), key=lambda k: w.canvas.items_of("proposal")[k].rect().top())
    viewport = QRectF(w.canvas.viewport().rect())
    image_top = w.canvas.mapFromScene(0, 0).y()
    assert 0 <= image_top < tag_rect(w, "proposal", low).height()   # no room above the image for a tag

    assert w.canvas.label_shown("proposal", top) and w.canvas.items_of("proposal")[top].label.text.startswith("#1")
    rect = tag_rect(w, "proposal", top)
    assert viewport.contains(rect)                                   # wholly visible, not clipped at the top
    assert rect.top() >= image_top and box_rect(w, "proposal", top).contains(rect.center())   # inside its box
    # a box lower down keeps its tag above its top edge, where there is room
    rect = tag_rect(w, "proposal", low)
    assert viewport.contains(rect) and rect.bottom() <= box_rect(w, "proposal", low).top() + 0.5

    # the room comes back (zoomed out, the image no longer reaches the canvas's top): the tag goes above the box again
    room = tag_rect(w, "proposal", low).height() + 2
    for _ in range(5):
        if w.canvas.mapFromScene(0, 0).y() > room:
            break
        w.canvas.zoom_by(0.5)
    assert w.canvas.mapFromScene(0, 0).y() > room
    rect = tag_rect(w, "proposal", top)
    assert viewport.contains(rect) and rect.bottom() <= box_rect(w, "proposal", top).top() + 0.5
