"""Device selection: CUDA, then Apple MPS, then CPU. Nothing assumes a GPU."""
from __future__ import annotations

import contextlib
from functools import lru_cache

import torch

from core.result_checks import plural
from core.settings import check_precision


def pick_device(spec: str = "auto") -> torch.device:
    """``auto`` picks cuda:0, then mps, then cpu; an explicit name is validated."""
    spec = (spec or "auto").lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda:0")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} asked for, but no CUDA device is available")
    if dev.type == "cuda" and dev.index is not None and dev.index >= (n := torch.cuda.device_count()):
        raise ValueError(f"device {spec!r} asked for, but only {plural(n, 'CUDA device')} "
                         f"{'exists' if n == 1 else 'exist'}")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' asked for, but MPS is not available")
    return dev


def available_devices() -> list[str]:
    out = ["auto", "cpu"]
    out += [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append("mps")
    return out


@lru_cache(maxsize=1)
def _cpu_has_amx_bf16() -> bool:
    """Intel AMX with bf16 tiles (Linux flag ``amx_bf16``): bf16 matmuls run several times faster than float32.
    Elsewhere bf16 on a CPU is emulated and slower, so it is never chosen automatically."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return any(line.startswith("flags") and " amx_bf16" in line for line in f)
    except OSError:
        return False


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 inference is faster than float32 on ``device``."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_has_amx_bf16()
    return False


def inference_autocast(device: torch.device, precision: str = "auto"):
    """Context for a frozen model's forward: bfloat16 autocast when asked for, or when ``auto`` and the
    device runs it fast; otherwise float32 (a no-op context)."""
    check_precision(precision, "precision")
    if precision == "bfloat16" or (precision == "auto" and fast_bf16(device)):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def training_amp_dtype(device: torch.device, enabled: bool = True) -> torch.dtype | None:
    """Autocast dtype for the heads' forward in training, or None for float32.

    CUDA only: on a CPU the heads are small and autocast costs more than it saves. bfloat16 where the GPU
    has it; otherwise float16, which needs loss scaling (:func:`grad_scaler`): the CRF term's gradients
    (lambda_2 ~1e-6) are ~1e-9 per pixel, below float16's smallest number, and would all become zero.
    """
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def grad_scaler(device: torch.device, amp_dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    """A loss scaler when training in float16 (whose range is too narrow for the CRF gradients), else None."""
    return torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None


def describe_device(spec: str = "auto") -> str:
    """What the status bar shows: the device, and bfloat16 where the frozen networks run in it by default."""
    device = pick_device(spec)
    return f"{device} · bfloat16" if fast_bf16(device) else str(device)
