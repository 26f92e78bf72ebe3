"""Converted-weights cache: converts once, reloads, and rebuilds a corrupt or stale file."""
from __future__ import annotations

import os

import pytest
import torch

from core.dips.backbones import cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "cache"))
    return tmp_path / "cache" / "weights"


class Converter:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(4)}


def test_converts_once_then_loads(cache_dir, tmp_path):
    src = tmp_path / "model.onnx"
    src.write_bytes(b"source")
    conv = Converter()
    first = cache.cached_conversion("m", conv, source=src)
    second = cache.cached_conversion("m", conv, source=src)
    assert conv.calls == 1
    assert torch.equal(first["a"], second["a"]) and torch.equal(first["b"], second["b"])
    digest = (cache_dir / "m.safetensors.sha256").read_text().split()[0]
    assert digest == cache.sha256_file(cache_dir / "m.safetensors")


def test_corrupt_or_truncated_cache_is_rebuilt(cache_dir):
    conv = Converter()
    cache.cached_conversion("m", conv)
    path = cache_dir / "m.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip a byte in the tensor data: still parses, checksum catches it
    path.write_bytes(bytes(data))
    out = cache.cached_conversion("m", conv)
    assert conv.calls == 2 and torch.equal(out["b"], torch.ones(4))
    path.write_bytes(path.read_bytes()[:20])
    cache.cached_conversion("m", conv)
    assert conv.calls == 3
    (cache_dir / "m.safetensors.sha256").unlink()
    cache.cached_conversion("m", conv)
    assert conv.calls == 4
    cache.cached_conversion("m", conv)
    assert conv.calls == 4


def test_changed_source_or_converter_rebuilds(cache_dir, tmp_path):
    src = tmp_path / "model.onnx"
    src.write_bytes(b"v1")
    conv = Converter()
    cache.cached_conversion("m", conv, source=src)
    src.write_bytes(b"version 2")  # new wheel: other size / mtime
    cache.cached_conversion("m", conv, source=src)
    assert conv.calls == 2
    cache.cached_conversion("m", conv, source=src, version="2")
    assert conv.calls == 3


def test_unwritable_cache_still_returns_weights(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv(cache.ENV_VAR, str(blocker / "sub"))  # a folder under a file cannot be made
    conv = Converter()
    out = cache.cached_conversion("m", conv)
    assert torch.equal(out["b"], torch.ones(4))
    assert not os.path.exists(blocker / "sub")


def test_default_cache_dir_without_env(monkeypatch):
    monkeypatch.delenv(cache.ENV_VAR, raising=False)
    assert "dips-studio" in str(cache.cache_root())
