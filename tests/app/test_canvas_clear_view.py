"""The map's colour bar sits below the image, never over its pixels, at any zoom; a predicted box around the whole
image is drawn visibly inside it and says so on its tab."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRect, QRectF, Qt

from tests.app.test_curation import key
from tests.app.test_prediction_review import predict

pytestmark = pytest.mark.usefixtures("qtbot")


def _image_on_screen(w) -> QRect:
    """The image's rectangle in the view's own coordinates (the colour bar's parent), clipped to the viewport."""
    c = w.canvas
    iw, ih = c.image_size
    shown = c.mapFromScene(QRectF(0, 0, iw, ih)).boundingRect().translated(c.viewport().geometry().topLeft())
    return shown.intersected(c.viewport().geometry())


def test_the_colour_bar_never_covers_the_image(qtbot, main_window):
    w = main_window
    img = w.session.image
    w.session.project.maps.save_attention(img.id, "test@96", np.random.default_rng(0).random((2, 6, 8)).astype(
        np.float32))
    w.session.maps_changed.emit(img.id)
    w.layers.choose(-1)
    bar = w.canvas.colour_bar
    qtbot.waitUntil(bar.isVisible)
    for zoom in (lambda: w.canvas.fit(), lambda: w.canvas.actual_size(), lambda: w.canvas.zoom_by(8.0)):
        zoom()
        qtbot.wait(10)
        image = _image_on_screen(w)
        assert not image.isEmpty() and bar.isVisible()
        assert not bar.geometry().intersects(image), (bar.geometry(), image)
        assert w.canvas.rect().contains(bar.geometry())               # and it is on screen
    w.canvas.fit()
    fitted = _image_on_screen(w)
    key(qtbot, w, Qt.Key.Key_O)                                        # overlay off: the band goes, the image grows
    assert not bar.isVisible() and _image_on_screen(w).height() >= fitted.height()


def test_a_predicted_box_around_the_whole_image_is_drawn_inside_it_and_named(qtbot, main_window):
    w = main_window
    img = w.session.image
    predict(w, {img.id: [(0, 0, img.width, img.height, 0.53)]})
    qtbot.waitUntil(lambda: len(w.canvas.items_of("prediction")) == 1)
    item = next(iter(w.canvas.items_of("prediction").values()))
    assert item.whole_image and item.label.text.endswith("\u00b7 whole image")
    key(qtbot, w, Qt.Key.Key_O)                                        # the map off: only the image's own colours
    qtbot.wait(20)
    shot = w.canvas.viewport().grab().toImage()
    top_left = w.canvas.mapFromScene(0, 0)
    bottom = w.canvas.mapFromScene(0, img.height).y()
    x = top_left.x() + 6                                               # the second outline, 6 screen px inside

    def magenta(px, y) -> bool:
        c = shot.pixelColor(px, y)
        return c.red() > 180 and c.blue() > 180 and c.green() < 90
    column = [any(magenta(px, y) for px in range(x - 1, x + 2)) for y in range(top_left.y() + 10, bottom - 10)]
    assert sum(column) > 0.3 * len(column)                             # a dotted line down the image's inside
    assert not any(magenta(top_left.x() + 20, y) for y in range(top_left.y() + 20, bottom - 20))   # and no fill
