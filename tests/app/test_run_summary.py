"""A failed run's row in Past runs: its error's first line, whole where it fits, never cut without a mark."""
from __future__ import annotations

from types import SimpleNamespace

from app.panels.run_summary import MAX_ERROR, run_summary


def test_a_failed_runs_error_is_shown_whole_and_a_very_long_one_ends_with_an_ellipsis():
    error = ("s_work/features/dinov2_s14@448/ca00b08ad6f48dc8632f57eb1d354e8335b7aa13.tokens.npy: damaged cached "
             "features ([Errno 2] No such file or directory); removed, run the stage again\nTraceback ...")
    row = run_summary(SimpleNamespace(status="failed", error=error))
    assert row == error.splitlines()[0]           # 150 characters: it used to stop at 120, mid-word
    long = run_summary(SimpleNamespace(status="failed", error="x" * (MAX_ERROR + 50)))
    assert len(long) == MAX_ERROR and long.endswith("\u2026")
