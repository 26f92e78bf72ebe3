"""The peak resident memory of this process, unaffected by whoever started it.

``ru_maxrss`` is kept across fork and exec on Linux, so a child started by a parent that had grown to 1.3 GB
(building a 100,000-image project) reported 1.3 GB whatever it did itself. ``VmHWM`` belongs to the process's
own address space, which exec replaces, so it starts from zero in the child.
"""
from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_gb() -> float:
    """Peak resident set size of this process since its exec, in GiB (``VmHWM``; ``ru_maxrss`` off Linux)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 ** 2   # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
