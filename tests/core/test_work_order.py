"""The order a per-image stage works in: base order, the ids a priority source names, each image once."""
from __future__ import annotations

import threading
from types import SimpleNamespace

from core.work_order import FocusList, WorkOrder, objects_first


def _recs(*pairs):
    return [SimpleNamespace(id=i, class_id=c) for i, c in pairs]


def test_object_classes_come_before_unlabelled_and_background_in_file_order():
    # file order: background (class 2) images sort first by name, as no_site/ does before site/
    recs = _recs((1, 2), (2, 2), (3, None), (4, 1), (5, 1), (6, 2), (7, 1))
    assert [r.id for r in objects_first(recs, background_ids={2})] == [4, 5, 7, 3, 1, 2, 6]


def test_priority_ids_are_taken_first_and_batches_keep_their_size():
    focus = FocusList()
    order = WorkOrder(_recs(*[(i, 1) for i in range(1, 11)]), focus)
    assert [r.id for r in order.take(3)] == [1, 2, 3]
    focus.set([8, 9, 2, 42])          # 2 is done already and 42 is not this stage's: both ignored
    assert order.peek().id == 8
    assert [r.id for r in order.take(3)] == [8, 9, 4]
    assert [r.id for r in order.take(3)] == [5, 6, 7]     # the base order goes on without taking 8 or 9 again
    focus.set([])
    assert [r.id for r in order] == [10] and len(order) == 0 and order.peek() is None


def test_a_change_of_priority_between_items_is_followed():
    focus = FocusList()
    order = WorkOrder(_recs(*[(i, 1) for i in range(1, 7)]), focus)
    seen = []
    for rec in order:
        seen.append(rec.id)
        if rec.id == 1:
            focus.set([5, 6])          # the user moved to image 5 while image 1 was computed
    assert seen == [1, 5, 6, 2, 3, 4]


def test_a_failing_priority_source_falls_back_to_the_base_order():
    def broken():
        raise RuntimeError("gone")
    order = WorkOrder(_recs((1, 1), (2, 1)), broken)
    assert [r.id for r in order] == [1, 2]


def test_focus_list_is_read_and_set_from_two_threads():
    focus = FocusList([1])
    seen = []
    t = threading.Thread(target=lambda: [seen.append(focus()) for _ in range(2000)])
    t.start()
    for k in range(2000):
        focus.set([k, k + 1])
    t.join()
    assert all(len(ids) in (1, 2) for ids in seen) and focus() == (1999, 2000)


def test_items_on_request_are_done_only_when_named_before_the_base_items_run_out():
    focus = FocusList()
    order = WorkOrder(_recs((1, 1), (2, 1), (3, 1)), focus, on_request=_recs((7, 2), (8, 2)))
    assert [r.id for r in order.take(2)] == [1, 2] and order.total == 3
    focus.set([8])                                  # the user looks at a background image
    assert order.peek().id == 8
    assert [r.id for r in order.take(2)] == [8, 3] and order.total == 4
    assert len(order) == 0 and order.take(2) == [] and order.peek() is None   # 7 was never asked for
