"""Device and precision choice: nothing assumes a GPU; bf16 only where asked for or where it runs fast."""
from __future__ import annotations

import io

import pytest
import torch

from core.dips import device as dev


def test_auto_device_falls_back_to_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert dev.pick_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA device"):
        dev.pick_device("cuda:0")


def test_bf16_is_chosen_automatically_only_on_cpus_with_amx(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(dev, "_cpu_has_amx_bf16", lambda: False)
    a = torch.ones(4, 4)
    with dev.inference_autocast(cpu, "auto"):   # a forward without AMX computes in float32
        assert not torch.is_autocast_enabled("cpu")
        assert (a @ a).dtype == torch.float32
    monkeypatch.setattr(dev, "_cpu_has_amx_bf16", lambda: True)
    with dev.inference_autocast(cpu, "auto"):   # with AMX in bfloat16
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        assert (a @ a).dtype == torch.bfloat16
    with dev.inference_autocast(cpu, "float32"):
        assert not torch.is_autocast_enabled("cpu")
    with pytest.raises(ValueError, match="precision"):
        dev.inference_autocast(cpu, "fp8")


def test_amx_flag_is_read_from_cpuinfo_and_missing_file_means_no(monkeypatch, tmp_path):
    real_open = open

    def cpuinfo(flags: str):
        text = f"processor\t: 0\nflags\t\t: fpu sse2 {flags}\n"
        return lambda *a, **k: io.StringIO(text) if a and a[0] == "/proc/cpuinfo" else real_open(*a, **k)

    for flags, amx in (("avx512f amx_tile amx_bf16 amx_int8", True), ("avx512f avx512_bf16", False)):
        monkeypatch.setattr("builtins.open", cpuinfo(flags))
        dev._cpu_has_amx_bf16.cache_clear()
        assert dev._cpu_has_amx_bf16() is amx
    monkeypatch.setattr("builtins.open", lambda *a, **k: (_ for _ in ()).throw(OSError("no /proc"))
                        if a and a[0] == "/proc/cpuinfo" else real_open(*a, **k))
    dev._cpu_has_amx_bf16.cache_clear()
    assert dev._cpu_has_amx_bf16() is False
    dev._cpu_has_amx_bf16.cache_clear()


def test_status_text_names_bf16_only_where_it_is_used(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_cpu_has_amx_bf16", lambda: True)
    assert dev.describe_device() == "cpu · bfloat16"
    monkeypatch.setattr(dev, "_cpu_has_amx_bf16", lambda: False)
    assert dev.describe_device() == "cpu"


def test_training_precision_is_bfloat16_on_cuda_when_it_can_else_scaled_float16(monkeypatch):
    import torch

    from core.dips.device import grad_scaler, training_amp_dtype
    cuda = torch.device("cuda:0")
    assert training_amp_dtype(torch.device("cpu")) is None          # the CPU trains in float32
    assert training_amp_dtype(cuda, enabled=False) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert training_amp_dtype(cuda) is torch.bfloat16 and grad_scaler(cuda, torch.bfloat16) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)   # e.g. a T4 or V100
    assert training_amp_dtype(cuda) is torch.float16
    assert isinstance(grad_scaler(torch.device("cpu"), torch.float16), torch.amp.GradScaler)
