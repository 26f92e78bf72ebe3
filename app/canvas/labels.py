"""Which box labels to show when they crowd: a label that would cover one already placed is hidden.

Labels keep their size on screen, so whether two overlap depends on the zoom; the canvas asks again
whenever the zoom, the boxes or the selection change. Pure geometry, in view pixels.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF


def visible_labels(rects: list[QRectF], forced: list[bool]) -> list[bool]:
    """``rects`` in priority order (first = most important). A forced label (the selected or highlighted
    box) is always shown and placed first; any other is shown when it overlaps none shown before it."""
    shown = [False] * len(rects)
    taken: list[QRectF] = []
    for i in [i for i, f in enumerate(forced) if f] + [i for i, f in enumerate(forced) if not f]:
        if forced[i] or not any(rects[i].intersects(t) for t in taken):
            shown[i] = True
            taken.append(rects[i])
    return shown
