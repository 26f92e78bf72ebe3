"""Image names as other tools and systems write them, mapped onto the project's image paths.

A name in a CSV, a COCO ``file_name`` or a wsolevaluation list may use Windows separators, be absolute (on this
machine or another), start with the image folder's own name, carry ``./`` or ``..``, be URL-encoded, be in the
other Unicode normal form (macOS writes NFD), differ in case (Windows and macOS file systems ignore it), or be only
the base name. ``ImageMatcher`` finds the one project image such a name means, or says why not.
"""
from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import unquote

T = TypeVar("T")
_DRIVE = re.compile(r"^[A-Za-z]:/")


class PathOutsideRoot(ValueError):
    """A name that, once resolved, points outside the image folder."""


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def as_posix_name(name: str) -> str:
    """Separators made '/', a ``file://`` prefix dropped, NFC; nothing else changed (``.hidden.jpg`` stays)."""
    text = _nfc(str(name).strip()).replace("\\", "/")
    if text.lower().startswith("file://"):
        text = unquote(text[len("file://"):])
        if _DRIVE.match(text.lstrip("/")):          # file:///C:/x -> C:/x
            text = text.lstrip("/")
    return text


def is_absolute_name(text: str) -> bool:
    """Absolute on any system: '/x', 'C:/x', '//server/share/x'."""
    return text.startswith("/") or bool(_DRIVE.match(text))


def relative_inside(name: str, root: Path) -> str:
    """The POSIX path relative to ``root`` that ``name`` (relative to ``root``, or absolute) points at.

    ``..`` and ``.`` are resolved by name; a result that leaves ``root`` raises ``PathOutsideRoot``. An absolute
    name must lie inside ``root`` (as given or with links resolved). Raises ``PathOutsideRoot``.
    """
    text = as_posix_name(name)
    if is_absolute_name(text):
        if _DRIVE.match(text) or text.startswith("//"):
            raise PathOutsideRoot(f"{name}: absolute path of another system, not inside the image folder")
        path = Path(posixpath.normpath(text))
        for base in (Path(posixpath.normpath(root.as_posix())), root.resolve()):
            for p in (path, path.resolve()):
                try:
                    rel = p.relative_to(base).as_posix()
                except ValueError:
                    continue
                if rel not in ("", "."):
                    return rel
        raise PathOutsideRoot(f"{name}: outside the image folder")
    rel = posixpath.normpath(text)
    if rel == ".." or rel.startswith("../"):
        raise PathOutsideRoot(f"{name}: leaves the image folder")
    if rel in ("", "."):
        raise PathOutsideRoot(f"{name}: names the image folder itself, not an image")
    return rel


@dataclass(frozen=True)
class Match(Generic[T]):
    item: T | None
    reason: str | None                     # why nothing was matched: 'not in the project', 'matches 2 images'
    candidates: tuple[str, ...] = ()       # the paths of an ambiguous name


class ImageMatcher(Generic[T]):
    """Finds which of ``items`` (each with a POSIX path relative to ``root``) a foreign name means.

    Order: the path as written (after separators, ``./``, ``..``, URL encoding and absolute paths inside the
    root); the same with leading folders dropped, longest first (another machine's absolute path, the root
    folder's own name in front); a path that ends with the name, when exactly one does (only the base name, or
    a sub-path); each again ignoring case. Several images ending with the name: ``matches N images``.
    """

    def __init__(self, items: Iterable[T], rel_path_of, root: Path | None = None):
        self.root = root
        self.by_rel: dict[str, T] = {}
        self.by_rel_fold: dict[str, list[T]] = {}
        self.by_base: dict[str, list[tuple[tuple[str, ...], str, T]]] = {}
        for item in items:
            rel = _nfc(rel_path_of(item))
            self.by_rel[rel] = item
            self.by_rel_fold.setdefault(rel.casefold(), []).append(item)
            parts = tuple(rel.casefold().split("/"))
            self.by_base.setdefault(parts[-1], []).append((parts, rel, item))

    def match(self, name) -> Match[T]:
        if not isinstance(name, str) or not name.strip():
            return Match(None, "no file name")
        text = as_posix_name(name)
        found = self._match_text(text)
        if found.item is None and found.reason == "not in the project" and "%" in text:
            decoded = self._match_text(unquote(text))        # URL-encoded by a web tool
            if decoded.item is not None or decoded.candidates:
                return decoded
        return found

    def _match_text(self, text: str) -> Match[T]:
        inside = self._absolute_inside_root(text)
        if inside is not None:
            return Match(inside, None)
        # after normpath only leading '..' remain: a path relative to somewhere else (the annotation file's
        # folder); what follows them is still worth matching
        parts = [p for p in posixpath.normpath(text).split("/") if p not in ("", ".", "..")]
        if _DRIVE.match(text):
            parts = parts[1:]                               # 'C:' is not a folder of ours
        if not parts:
            return Match(None, "no file name")
        by_suffix = self._by_path_suffix(parts)
        if by_suffix is not None:
            return Match(by_suffix, None)
        return self._by_tail(parts)

    def _absolute_inside_root(self, text: str) -> T | None:
        """The item an absolute path inside the root names, if any."""
        if self.root is None or not is_absolute_name(text):
            return None
        try:
            rel = relative_inside(text, self.root)
        except PathOutsideRoot:
            return None
        return self.by_rel.get(rel)

    def _by_path_suffix(self, parts: list[str]) -> T | None:
        """The whole path, then without leading folders, as written; then the same ignoring case (one hit)."""
        for i in range(len(parts)):
            key = "/".join(parts[i:])
            if key in self.by_rel:
                return self.by_rel[key]
        for i in range(len(parts)):
            hits = self.by_rel_fold.get("/".join(parts[i:]).casefold(), [])
            if len(hits) == 1:
                return hits[0]
        return None

    def _by_tail(self, parts: list[str]) -> Match[T]:
        """A project path that ends with ``parts`` (ignoring case; as written wins), when exactly one does."""
        tail = tuple(p.casefold() for p in parts)
        hits = [(rel, item) for p, rel, item in self.by_base.get(tail[-1], []) if p[-len(tail):] == tail]
        exact = [(rel, item) for rel, item in hits if rel.split("/")[-len(tail):] == list(parts[-len(tail):])]
        if len(exact) == 1:
            return Match(exact[0][1], None)
        if len(hits) == 1:
            return Match(hits[0][1], None)
        if hits:
            rels = tuple(sorted(rel for rel, _ in (exact or hits)))
            return Match(None, f"matches {len(rels)} images", rels)
        return Match(None, "not in the project")
