"""The order in which a per-image stage (attention maps, proposals) works through its images.

A stage starts from a base order (object classes first, then unlabelled images, then background classes: an
inspector reviews boxes on object images, and background images only matter once training starts) and, before
each image or batch, asks a priority source which image ids are wanted now: the GUI answers with the image on
screen and the next few in its list, so a user who jumps to an image gets its maps and proposals next. The
batch size never changes, so batching keeps its efficiency (bench/work_order.py).

Torch-free and store-free: the GUI thread holds a ``FocusList`` and a worker thread's stage reads it.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _image_id(record: Any) -> int:
    return record.id


def _class_id(record: Any) -> int | None:
    return record.class_id

# Image ids wanted first, most urgent first; called by the stage's thread between images or batches, so it must
# be quick and thread-safe. Ids the stage has nothing to do for are ignored.
Priority = Callable[[], Sequence[int]]

# Base-order ranks: what an inspector looks at first.
OBJECT, UNLABELLED, BACKGROUND = 0, 1, 2


class FocusList:
    """A thread-safe list of image ids to compute first; the GUI ``set``s it, a stage calls it (a ``Priority``)."""

    def __init__(self, ids: Sequence[int] = ()):
        self._lock = threading.Lock()
        self._ids: tuple[int, ...] = tuple(ids)

    def set(self, ids: Sequence[int]) -> None:
        with self._lock:
            self._ids = tuple(ids)

    def __call__(self) -> tuple[int, ...]:
        with self._lock:
            return self._ids


def kind_of(class_id: int | None, background_ids: set[int]) -> int:
    """OBJECT, UNLABELLED or BACKGROUND for an image of ``class_id`` (None: no label)."""
    if class_id is None:
        return UNLABELLED
    return BACKGROUND if class_id in background_ids else OBJECT


def objects_first(records: Iterable[T], background_ids: set[int],
                  class_of: Callable[[T], int | None] | None = None) -> list[T]:
    """``records`` (anything with ``class_id``) re-ordered: object classes, unlabelled images, background classes;
    a stable sort, so each group keeps the order it came in (file order from the store)."""
    class_of = class_of or _class_id
    return sorted(records, key=lambda r: kind_of(class_of(r), background_ids))


class WorkOrder(Generic[T]):
    """The items a stage still has to do, taken in batches: first those the priority source names (in its order),
    then the rest in base order. Each item is taken once. Taking is O(batch + len(priority)) amortised.

    ``key(item)`` is the image id the priority source speaks of (default: ``item.id``). ``on_request``: items done
    only if the priority source names them before the base items run out (the background classes' images while
    the window computes the object classes' maps first: the one on screen still gets its maps at once).
    ``len()`` counts the base items left; ``total`` the base items plus the requested ones taken so far.
    """

    def __init__(self, items: Iterable[T], priority: Priority | None = None,
                 key: Callable[[T], int] | None = None, on_request: Iterable[T] = ()):
        self._key = key or _image_id
        self._base: deque[T] = deque(items)
        self._left: dict[int, T] = {self._key(r): r for r in self._base}
        self._extra: dict[int, T] = {k: r for r in on_request if (k := self._key(r)) not in self._left}
        self.priority = priority
        self.total = len(self._left)

    def __len__(self) -> int:
        return len(self._left)

    def _wanted(self) -> list[int]:
        if self.priority is None:
            return []
        try:
            return [i for i in self.priority() if i in self._left or i in self._extra]
        except Exception:   # a priority source must never stop the work: fall back to the base order
            return []

    def _pop(self, i: int) -> T:
        if i in self._left:
            return self._left.pop(i)
        self.total += 1
        return self._extra.pop(i)

    def take(self, n: int = 1) -> list[T]:
        """Up to ``n`` items: the wanted ones first, then the base order."""
        batch: list[T] = [self._pop(i) for i in self._wanted()[:n]]
        while len(batch) < n and self._base:
            item = self._base.popleft()
            if self._left.pop(self._key(item), None) is not None:
                batch.append(item)
        return batch

    def peek(self) -> T | None:
        """The item ``take`` would give first now (None when no base item is left)."""
        if not self._left:
            return None
        wanted = self._wanted()
        if wanted:
            return self._left.get(wanted[0], self._extra.get(wanted[0]))
        while self._base and self._key(self._base[0]) not in self._left:
            self._base.popleft()
        return self._base[0] if self._base else None

    def __iter__(self):
        """One item at a time until no base item is left (the priority is asked before each)."""
        while self._left:
            yield from self.take(1)
