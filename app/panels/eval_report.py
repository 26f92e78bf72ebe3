"""Reading the evaluation report (JSON shape of core.eval.report.EvalResult.to_json) for the evaluation panel:
the headline figures, the threshold curve. No Qt."""
from __future__ import annotations

import math

DELTAS = (30, 50, 70)   # IoU thresholds (%) of MaxBoxAccV2


def number(v) -> float | None:
    """A finite number from the report, else None (booleans, strings, NaN are not figures)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(float(v)) else None


def headline_figures(report: dict) -> dict[str, float | None]:
    """The figures the panel shows, in percent, None where the report has none."""
    mba = report.get("MaxBoxAcc") or {}
    op = report.get("BoxAccV2AtOperatingThreshold") or {}
    figs: dict[str, float | None] = {f"MaxBoxAcc {d}": number(mba.get(str(d), mba.get(d))) for d in DELTAS}
    figs["MaxBoxAccV2"] = number(report.get("MaxBoxAccV2"))
    figs["BoxAccV2 @ τ"] = number(op.get("mean"))
    figs["Top-1 loc"] = number(report.get("Top1Loc"))
    figs["Top-5 loc"] = number(report.get("Top5Loc"))
    return figs


def threshold_curve(report: dict) -> tuple[list[float], dict[int, list[float]]]:
    """(tau grid, {delta: BoxAccV2 % per tau}); accepts ``curve`` {"thresholds", "30", ...} and
    ``curves`` {"thresholds", "BoxAccV2": {"30", ...}}."""
    c = report.get("curve") or report.get("curves") or {}
    ts = [float(t) for t in (c.get("thresholds") or [])]
    per = c.get("BoxAccV2") if isinstance(c.get("BoxAccV2"), dict) else c
    out = {}
    for d in DELTAS:
        ys = per.get(str(d), per.get(d))
        if ts and ys is not None and len(ys) == len(ts):
            out[d] = [float(y) for y in ys]
    return ts, out


def fmt_pct(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{v:.1f}"
