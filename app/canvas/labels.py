"""Where box labels go when they crowd: each tab takes the first of its places that covers no tab placed before
it, or is hidden.

Labels keep their size on screen, so whether two overlap depends on the zoom; the canvas asks again
whenever the zoom, the boxes or the selection change. Pure geometry, in view pixels.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF


def place_labels(places: list[list[QRectF]], forced: list[bool]) -> list[int | None]:
    """``places``: per label (in priority order, first = most important) the rects it may take, preferred first.
    A forced label (the selected or highlighted box) is placed first, at the first of its places that is free, else
    at its preferred one; any other takes the first place that overlaps no tab placed before it, else is hidden.
    Returns per label the index of its place, or None (hidden)."""
    chosen: list[int | None] = [None] * len(places)
    taken: list[QRectF] = []
    for i in [i for i, f in enumerate(forced) if f] + [i for i, f in enumerate(forced) if not f]:
        free = next((k for k, r in enumerate(places[i]) if not any(r.intersects(t) for t in taken)), None)
        if free is None and forced[i] and places[i]:
            free = 0
        if free is not None:
            chosen[i] = free
            taken.append(places[i][free])
    return chosen

