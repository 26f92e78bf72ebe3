"""One rule decides whether a file changed since it was recorded, for the re-scan and for the failed-decode record."""
from __future__ import annotations

import os

from core.data.file_stamp import file_stamp, unchanged_since


def test_a_file_is_unchanged_only_with_the_same_size_and_time(tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"12345")
    stamp = file_stamp(f)
    assert stamp == (5, f.stat().st_mtime_ns)
    assert unchanged_since(f, stamp)
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))       # saved again, same bytes
    assert not unchanged_since(f, stamp)
    f.write_bytes(b"123456")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))                          # same time, another size
    assert not unchanged_since(f, stamp)


def test_a_gone_file_and_an_unknown_time(tmp_path):
    f = tmp_path / "a.jpg"
    assert file_stamp(f) is None
    assert unchanged_since(f, None)                 # recorded as not there, still not there
    assert not unchanged_since(f, (5, 123))         # recorded, now gone
    f.write_bytes(b"12345")
    assert not unchanged_since(f, None)             # there now
    assert not unchanged_since(f, (5, 0))           # a row imported before times were kept: read it again

