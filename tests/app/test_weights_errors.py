"""A weight file that cannot be used fails its stage in the window with the CLI's plain message, no traceback
in the message, and the app goes on."""
from __future__ import annotations

from core.pipeline.config import load_config, save_config


def test_unreadable_weights_show_the_same_message_as_the_cli(qtbot, main_window, tmp_path):
    w = main_window
    bad = tmp_path / "noise.pth"
    bad.write_bytes(bytes(range(256)) * 4)
    project = w.session.project
    cfg = load_config(project)
    cfg.attention.backbone, cfg.attention.weights = "dino_vits16", str(bad)
    save_config(project, cfg)
    w.background.compute_attention()
    qtbot.waitUntil(lambda: bool(w.background.error_boxes), timeout=60_000)
    box = w.background.error_boxes[0]
    assert box.text() == (f"{bad}: not a weight file: neither a PyTorch checkpoint nor safetensors "
                          "(it starts with bytes 00 01 02 03 04 05 06 07)")
    assert "Traceback" in box.detailedText()          # details behind the button, not in the message
    assert w.runner.active() == []
