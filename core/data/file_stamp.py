"""A file's stamp (size and modification time) and the one test of whether a file is unchanged since it was recorded.

The importer keeps a stamp per image row (``file_size``, ``file_mtime_ns``) to skip re-reading unchanged files on a
re-scan; core/data/unreadable.py keeps one per file that failed to decode, to skip decoding it again. Both ask the
same question here, so a re-scan and a stage never disagree about whether a file changed.
"""
from __future__ import annotations

from pathlib import Path

Stamp = tuple[int, int]        # (size in bytes, st_mtime_ns)


def file_stamp(path: Path) -> Stamp | None:
    """(size in bytes, st_mtime_ns) of ``path``, or None when it cannot be stat'ed (gone, no permission)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def unchanged_since(path: Path, recorded: Stamp | None) -> bool:
    """True when ``path`` is as it was when ``recorded`` was taken: the same size and modification time, or, for
    ``recorded`` None (the file was not there), still not there. A recorded time of 0 means unknown (rows imported
    before times were kept): never unchanged, so the file is read again."""
    now = file_stamp(path)
    if recorded is None:
        return now is None
    if not recorded[1]:
        return False
    return now == (recorded[0], recorded[1])
