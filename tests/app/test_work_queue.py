"""The work queue follows the user, in the real window on a real project (tiny ViT in place of DINOv2):
the image on screen and the next ones get maps and proposals first, a project closed mid-way resumes its
proposals when reopened with no keypress, and the status bar says where the stage is and what is queued."""
from __future__ import annotations

import sqlite3
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.pipeline import compute_attention
from core.pipeline.config import PipelineConfig, save_config


@pytest.fixture
def tiny_project(project, monkeypatch):
    """tests.conftest's project (no_site/n0-n2, then site/a, rotated, sub/b, tour_été_📡 in file order) set up for
    a tiny random ViT (patch 8, 32 px), one image per encoder batch so the order shows image by image."""
    from core.pipeline import encoding
    from tests.core.dips.backbones.helpers import tiny_backbone

    bb = tiny_backbone(depth=4)
    monkeypatch.setattr(encoding, "_backbone", lambda name, weights, device: bb)
    cfg = PipelineConfig()
    cfg.attention.backbone, cfg.attention.input_size, cfg.attention.batch_size = "tiny", 32, 1
    cfg.proposals.scoring_size, cfg.proposals.map_size = 32, 32
    cfg.train.cls_epochs = 3
    save_config(project, cfg)
    return project


def _window(qtbot, project, auto_compute=False):
    from app.main_window import MainWindow
    w = MainWindow(project, auto_compute=auto_compute, probe_device=False)
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.canvas.setFocus()
    qtbot.waitUntil(lambda: w.isActiveWindow() and "full" in w.canvas.levels_shown, timeout=5000)
    return w


def _go_to(qtbot, w, rel_path: str) -> int:
    """Page with D (then A) as a user would until ``rel_path`` is on screen."""
    for key in [Qt.Key.Key_D] * 12 + [Qt.Key.Key_A] * 12:
        if w.session.image.rel_path == rel_path:
            break
        qtbot.keyClick(w.canvas, key)
    assert w.session.image.rel_path == rel_path
    return w.session.image_id


def _order(con, table: str) -> list[int]:
    """Image ids in the order the stage wrote them (row ids grow with each insert)."""
    rows = con.execute(f"SELECT image_id FROM {table} GROUP BY image_id ORDER BY min(id)").fetchall()
    return [r[0] for r in rows]


def _gate(monkeypatch, obj, name: str, free: int) -> threading.Semaphore:
    """``obj.name`` lets ``free`` calls through, then each waits for one release of the returned semaphore."""
    gate, calls, original = threading.Semaphore(0), [0], getattr(obj, name)

    def gated(*args, **kwargs):
        calls[0] += 1
        if calls[0] > free:
            assert gate.acquire(timeout=60), "the test never released the stage"
        return original(*args, **kwargs)
    monkeypatch.setattr(obj, name, gated)
    return gate


def test_the_image_on_screen_gets_maps_and_proposals_before_images_earlier_in_file_order(qtbot, tiny_project,
                                                                                       monkeypatch):
    p = tiny_project
    gate = _gate(monkeypatch, p.maps, "save_attention", free=1)  # the second image's maps wait for the test
    started: list[str] = []
    # every task the window submits, from its first: the stages start while the window is still being shown, so a
    # listener connected after it opens missed the first one when the window took longer to appear
    from app.workers import TaskRunner
    submit = TaskRunner.run_in_thread
    monkeypatch.setattr(TaskRunner, "run_in_thread",
                        lambda self, fn, title: (started.append(title), submit(self, fn, title))[1])
    w = _window(qtbot, p, auto_compute=True)       # a new project: maps and proposals start by themselves
    con = sqlite3.connect(p.path)
    try:
        qtbot.waitUntil(lambda: len(_order(con, "attention_maps")) == 1, timeout=60_000)
        target = _go_to(qtbot, w, "site/tour_été_📡.jpg")     # meanwhile the user pages to the last site image
        gate.release(20)
        qtbot.waitUntil(lambda: len(p.maps.image_ids_with_attention("tiny@32")) == 7
                        and not w.runner.active() and not w.background.busy(), timeout=120_000)
        assert len(p.proposals.image_ids_with_proposals()) == 4
        path = {i: p.images.get(i).rel_path for i in p.images.ids()}
        attention = [path[i] for i in _order(con, "attention_maps")]
        # the image on screen at open (a new project opens on its first site image, a.jpg) and the next one
        # (rotated.jpg, under way when the user moved), then the image on screen, before the site image earlier in
        # file order; the background class no_site last
        assert attention == ["site/a.jpg", "site/rotated.jpg", "site/tour_été_📡.jpg", "site/sub/b.png",
                             "no_site/n0.png", "no_site/n1.png", "no_site/n2.png"]
        assert _order(con, "proposals")[0] == target
        # proposals need only the site images' maps: the background classes' maps wait until they are done
        assert [t for t in started if not t.startswith("Looking")] == [
            "Attention maps", "Proposals", "Attention maps of background classes"]
        assert len(w.canvas.items_of("proposal")) > 0       # and they are on screen
    finally:
        gate.release(20)
        con.close()
        w.shutdown()


def test_reopening_a_project_closed_mid_way_resumes_the_proposals_with_no_keypress(qtbot, tiny_project,
                                                                                   monkeypatch):
    from core.store.project import Project
    p = tiny_project
    compute_attention(p)
    gate = _gate(monkeypatch, p.proposals, "replace", free=2)    # the third image's proposals wait
    w = _window(qtbot, p, auto_compute=True)                    # opening starts the proposals by itself
    qtbot.waitUntil(lambda: len(p.proposals.image_ids_with_proposals()) == 2, timeout=120_000)
    assert w.background.busy()

    def quit_anyway(*_args):                                    # "Stop the running task and quit?" -> Yes
        w.runner.cancel_all()
        gate.release(10)
        return QMessageBox.StandardButton.Yes
    monkeypatch.setattr("app.main_window.QMessageBox.question", quit_anyway)
    w.close()
    con = sqlite3.connect(p.path)
    try:
        done_before = dict(con.execute("SELECT image_id, min(id) FROM proposals GROUP BY image_id").fetchall())
        assert 2 <= len(done_before) < 4                        # quit mid-way: some images have no proposals
        again = Project.open(p.path)                            # a new connection: its store is not gated
        w2 = _window(qtbot, again, auto_compute=True)
        try:
            qtbot.waitUntil(lambda: len(again.proposals.image_ids_with_proposals()) == 4
                            and not w2.runner.active() and not w2.background.busy(), timeout=120_000)
            done_after = dict(con.execute("SELECT image_id, min(id) FROM proposals GROUP BY image_id").fetchall())
            assert len(done_after) == 4
            assert {i: done_after[i] for i in done_before} == done_before    # finished ones were not redone
            assert w2.background.error_boxes == []
        finally:
            w2.shutdown()
            again.close()
    finally:
        con.close()


def test_status_bar_says_where_the_stage_is_what_comes_next_and_what_is_queued(qtbot, tiny_project, monkeypatch):
    p = tiny_project
    monkeypatch.setattr("app.workers.PROGRESS_MIN_INTERVAL_S", 0.0)   # every event reaches the bar, none coalesced
    gate = _gate(monkeypatch, p.maps, "save_attention", free=1)  # after the first image, one image per release
    w = _window(qtbot, p, auto_compute=True)
    label = w.status.task_label
    then = " \u00b7 then: Proposals, Attention maps of background classes"
    try:
        # the project opens on its first site image, site/a.jpg; background images' maps wait, except those looked at
        qtbot.waitUntil(lambda: "1 / 4" in label.text(), timeout=60_000)
        assert label.text() == "Attention maps: 1 / 4 \u00b7 next: site/rotated.jpg (after the image on screen)" + then
        _go_to(qtbot, w, "no_site/n1.png")            # the user looks at a background image while the maps compute
        gate.release()                                # site/rotated.jpg was already being computed
        qtbot.waitUntil(lambda: "2 / " in label.text(), timeout=60_000)
        assert label.text().endswith(" \u00b7 next: the image on screen" + then)   # the total catches up next event
        gate.release()
        qtbot.waitUntil(lambda: "3 / 5" in label.text(), timeout=60_000)
        assert label.text() == "Attention maps: 3 / 5 \u00b7 next: no_site/n2.png (after the image on screen)" + then
        # the image on screen went first, and its maps are shown as soon as they are stored
        qtbot.waitUntil(lambda: sorted(w.attention.tiles) == [-1, 0, 1, 2], timeout=10_000)
        assert w.canvas.overlay_shown()
        gate.release(20)
        qtbot.waitUntil(lambda: not w.runner.active() and not w.background.busy(), timeout=120_000)
        assert not label.isVisible()
        assert w.status.currentMessage() == "Attention maps of background classes: done"
    finally:
        gate.release(20)
        w.shutdown()


def test_images_added_while_maps_compute_get_maps_and_proposals_queued_after_them(qtbot, tiny_project, monkeypatch):
    from tests.conftest import make_image
    p = tiny_project
    gate = _gate(monkeypatch, p.maps, "save_attention", free=1)
    w = _window(qtbot, p)
    try:
        qtbot.keyClick(w.canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitUntil(lambda: len(p.maps.image_ids_with_attention("tiny@32")) == 1, timeout=60_000)
        make_image(p.image_root / "site" / "new.png", size=(64, 48), color=(200, 200, 20))
        with qtbot.waitSignal(w.files.rescanned, timeout=30_000):
            qtbot.keyClick(w.canvas, Qt.Key.Key_F5)               # re-scan: one new site image
        qtbot.waitUntil(lambda: w.background._queue == ["attention", "proposals"], timeout=30_000)
        assert w.status.task_label.text().endswith("then: Attention maps, Proposals")
        gate.release(30)
        qtbot.waitUntil(lambda: len(p.proposals.image_ids_with_proposals()) == 5
                        and not w.runner.active() and not w.background.busy(), timeout=120_000)
        assert len(p.maps.image_ids_with_attention("tiny@32")) == 8
        assert p.images.by_path("site/new.png").id in p.proposals.image_ids_with_proposals()
    finally:
        gate.release(30)
        w.shutdown()


def test_opening_a_project_whose_image_on_screen_was_replaced_shows_the_new_files_size_maps_and_proposals(
        qtbot, tiny_project):
    """site/a.jpg is re-exported at another size after its maps and proposals were made. The window that opens on it
    reads it again before resuming (core/data/changed_files.py): what it then shows is the new file's size, its
    curated box scaled with it, and proposals made from the new pixels, none of the old file's."""
    from core.pipeline import compute_proposals
    from tests.conftest import make_image
    p = tiny_project
    compute_attention(p)
    compute_proposals(p)
    rec = p.images.by_path("site/a.jpg")
    old = {q.id for q in p.proposals.list(rec.id)}
    assert old and (rec.width, rec.height) == (64, 48)
    p.boxes.add(rec.id, (8, 6, 24, 18), rec.class_id)
    make_image(p.image_root / "site" / "a.jpg", size=(80, 40), color=(200, 30, 30),
               square=(40, 10, 60, 30, (0, 0, 255)))

    w = _window(qtbot, p, auto_compute=True)
    try:
        _go_to(qtbot, w, "site/a.jpg")
        qtbot.waitUntil(lambda: bool(p.proposals.list(rec.id)) and not w.runner.active() and not w.background.busy(),
                        timeout=120_000)
        qtbot.waitUntil(lambda: w.canvas.image_size == (80, 40), timeout=5000)
        new = {q.id for q in p.proposals.list(rec.id)}
        assert new and not new & old
        shown = {r.key for r in w.proposals.rows() if r.kind == "proposal"}
        assert shown and shown <= new
        assert set(w.canvas.items_of("proposal")) <= new
        [box] = w.canvas.items_of("curated").values()
        assert box.xyxy() == pytest.approx((10.0, 5.0, 30.0, 15.0))    # x 80/64, y 40/48
    finally:
        w.shutdown()
