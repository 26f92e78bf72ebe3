"""The canvas alone: zoom at the cursor, fit / 1:1, pan, and big images decoded off the GUI thread."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.canvas.canvas import ImageCanvas
from tests.conftest import make_image


@pytest.fixture
def canvas(qtbot):
    c = ImageCanvas()
    qtbot.addWidget(c)
    c.resize(800, 600)
    c.show()
    qtbot.waitExposed(c)
    yield c
    c.loader.cancel()
    c.loader.wait(5000)


def wheel(c: ImageCanvas, pos: QPoint, notches: int) -> None:
    ev = QWheelEvent(QPointF(pos), QPointF(c.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * notches),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(c.viewport(), ev)


def test_wheel_zooms_at_the_cursor_and_fit_shows_everything(qtbot, canvas, tmp_path):
    path = make_image(tmp_path / "a.png", size=(400, 300))
    canvas.set_image(1, path, (400, 300))
    qtbot.waitUntil(lambda: "full" in canvas.levels_shown, timeout=5000)
    fit_scale = canvas.scale_factor()
    assert fit_scale == pytest.approx(min(792 / 400, 592 / 300), rel=0.02)
    cursor = QPoint(500, 200)
    under = canvas.mapToScene(cursor)
    wheel(canvas, cursor, 3)
    assert canvas.scale_factor() == pytest.approx(fit_scale * 1.0015 ** 360, rel=0.01)
    after = canvas.mapToScene(cursor)
    assert (after.x(), after.y()) == pytest.approx((under.x(), under.y()), abs=1.5)  # same image point
    canvas.actual_size()
    assert canvas.scale_factor() == pytest.approx(1.0)
    canvas.fit()
    assert canvas.scale_factor() == pytest.approx(fit_scale)


def test_middle_drag_pans(qtbot, canvas, tmp_path):
    path = make_image(tmp_path / "a.png", size=(400, 300))
    canvas.set_image(1, path, (400, 300))
    canvas.set_scale_at(6.0)
    before = canvas.mapToScene(QPoint(400, 300))
    vp = canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 300))
    QTest.mouseMove(vp, QPoint(300, 250))
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 250))
    after = canvas.mapToScene(QPoint(400, 300))
    # dragging the image left/up by (100, 50) screen px shows what was right/below
    assert (after.x() - before.x(), after.y() - before.y()) == pytest.approx((100 / 6, 50 / 6), abs=0.5)


def test_big_image_preview_first_then_full_without_blocking(qtbot, canvas, tmp_path):
    rng = np.random.default_rng(0)
    small = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    big = np.asarray(Image.fromarray(small).resize((4000, 3000), Image.NEAREST))
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=85)
    levels = []
    canvas.image_ready.connect(lambda _i, level: levels.append((level, time.perf_counter())))
    t0 = time.thread_time()
    canvas.set_image(7, path, (4000, 3000))
    # the GUI thread only asks; decoding (hundreds of ms of CPU for 12 MP) happens elsewhere. Its own CPU time,
    # not the clock, so a busy machine does not fail the test.
    assert time.thread_time() - t0 < 0.1
    qtbot.waitUntil(lambda: [lv for lv, _ in levels] == ["preview", "full"], timeout=15000)
    # fitted (scale ~0.2), the light preview is what gets painted; zoomed in, the full image
    assert canvas._preview.isVisible() and not canvas._full.isVisible()
    canvas.set_scale_at(1.0)
    assert canvas._full.isVisible() and not canvas._preview.isVisible()
    # both layers cover the whole image in image pixels
    for item in (canvas._preview, canvas._full):
        r = item.mapRectToScene(item.boundingRect())
        assert (r.width(), r.height()) == pytest.approx((4000, 3000), rel=1e-3)


def test_paging_fast_shows_only_the_last_image(qtbot, canvas, tmp_path):
    paths = [make_image(tmp_path / f"{i}.png", size=(200, 150), color=(10 * i, 0, 0)) for i in range(6)]
    shown = []
    canvas.image_ready.connect(lambda i, _lv: shown.append(i))
    for i, p in enumerate(paths):
        canvas.set_image(i, p, (200, 150))
    qtbot.waitUntil(lambda: 5 in shown, timeout=5000)
    qtbot.wait(100)
    assert shown[-1] == 5 and all(i in (0, 5) for i in shown)  # stale decodes are dropped


def test_unreadable_image_reports_and_keeps_boxes(qtbot, canvas, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xffgarbage")
    with qtbot.waitSignal(canvas.image_failed, timeout=5000) as blocker:
        canvas.set_image(3, bad, (100, 80))
    assert blocker.args[0] == 3 and "bad.jpg" in blocker.args[1]
    canvas.set_boxes("curated", [(1, (10, 10, 50, 40), "car", 0)])
    assert set(canvas.items_of("curated")) == {1}


def _shown_tabs(canvas) -> dict[tuple[str, int], object]:
    """(kind, key) -> the view rect of each box label on screen."""
    out = {}
    for kind in ("curated", "proposal", "prediction", "gt"):
        for key, it in canvas.items_of(kind).items():
            if it.label is not None and it.label.isVisible():
                corner = canvas.mapFromScene(it.label.pos())
                out[kind, key] = it.label.boundingRect().translated(corner.x(), corner.y())
    return out


def _no_tab_covers_another(canvas) -> bool:
    tabs = list(_shown_tabs(canvas).values())
    return not any(a.intersects(b) for i, a in enumerate(tabs) for b in tabs[i + 1:])


def test_crowded_labels_move_inside_or_hide_behind_more_important_ones_until_zoom_or_selection_frees_them(
        qtbot, canvas, tmp_path):
    path = make_image(tmp_path / "a.png", size=(400, 300))
    canvas.set_image(1, path, (400, 300))
    qtbot.waitUntil(lambda: "full" in canvas.levels_shown, timeout=5000)
    canvas.set_boxes("proposal", [(1, (10, 10, 100, 100), "#1 0.93", -1), (2, (12, 12, 60, 60), "#2 0.91", -1),
                                  (3, (14, 14, 40, 40), "#3 0.80", -1), (4, (300, 200, 380, 280), "#4 0.50", -1)])
    items = canvas.items_of("proposal")
    # #1 above its box; #2, whose place above would cover #1's tab, hangs inside its own box; #3 has no free place
    assert canvas.label_shown("proposal", 1) and not items[1].label.inside
    assert canvas.label_shown("proposal", 2) and items[2].label.inside
    assert not canvas.label_shown("proposal", 3) and canvas.label_shown("proposal", 4)
    assert _no_tab_covers_another(canvas)
    # tabs are drawn above every outline: no box line runs across a tag
    assert all(it.label.zValue() > box.zValue() for it in items.values() for box in items.values())
    canvas.select("proposal", 3)
    assert canvas.label_shown("proposal", 3) and _no_tab_covers_another(canvas)   # the selected one shows
    assert not canvas.label_shown("proposal", 1)
    canvas.select(None)
    canvas.set_scale_at(10.0)                              # zoomed in, the corners lie far apart on screen
    assert all(canvas.label_shown("proposal", k) for k in (1, 2, 3)) and _no_tab_covers_another(canvas)


def test_box_labels_of_many_crowded_predictions_never_cover_each_other(qtbot, canvas, tmp_path):
    path = make_image(tmp_path / "a.png", size=(400, 300))
    canvas.set_image(1, path, (400, 300))
    qtbot.waitUntil(lambda: "full" in canvas.levels_shown, timeout=5000)
    boxes = [(k, (20 + 9 * (k % 6), 20 + 7 * (k // 6), 120 + 5 * k, 90 + 4 * k), f"pred #{k + 1} 0.{90 - k}", -1)
             for k in range(24)]
    canvas.set_boxes("prediction", boxes)
    shown = _shown_tabs(canvas)
    assert len(shown) >= 3 and _no_tab_covers_another(canvas)
    assert ("prediction", 0) in shown                      # the best one always has its tag
    canvas.highlight("prediction", 17)                    # hovered in the table: its tag shows, still uncovered
    assert canvas.label_shown("prediction", 17) and _no_tab_covers_another(canvas)
    canvas.highlight(None)
    assert _shown_tabs(canvas) == shown
    canvas.set_layer_visible("prediction", False)         # a hidden layer shows none of its tags
    assert not any(it.label.isVisible() for it in canvas.items_of("prediction").values())
    canvas.set_layer_visible("prediction", True)
    assert _shown_tabs(canvas) == shown


def test_labels_placed_greedily_in_priority_order():
    from PySide6.QtCore import QRectF

    from app.canvas.labels import place_labels
    a, b, c = QRectF(0, 0, 50, 16), QRectF(10, 5, 50, 16), QRectF(100, 0, 50, 16)
    assert place_labels([[a], [b], [c]], [False, False, False]) == [0, None, 0]
    assert place_labels([[a], [b], [c]], [False, True, False]) == [None, 0, 0]
    assert place_labels([[a], [b]], [True, True]) == [0, 0]       # forced labels always show
