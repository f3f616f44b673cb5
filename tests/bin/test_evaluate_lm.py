"""tfllm-evaluate mode "lm" on a Python code corpus: eval/metrics.json gets the capability
measures (tfllm.evaluation.capability) of a one-step lm_tiny workdir."""

import json
import os

import pytest

from tests.bin.binaries import QUIET, TINY, call
from tfllm.bin import evaluate, pretrain

CODE_MEASURES = ("parse_share", "tokenizing_line_share", "empty_samples", "empty_share",
                 "no_e9_share", "bad_line_share")


def test_evaluate_writes_the_capability_measures(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    # a context of 160 tokens holds a held-out function's signature and docstring
    call(pretrain.main, f"--config={TINY}", f"--workdir={workdir}", *QUIET,
         "--config.training.steps=1", "--config.model.max_sequence_length=160")
    path = os.path.join(workdir, "eval", "metrics.json")
    call(evaluate.main, f"--workdir={workdir}")  # lm_tiny's config: no prompted samples
    with open(path) as f:
        metrics = json.load(f)
    assert {f"unconditional/{key}" for key in CODE_MEASURES} <= set(metrics)
    assert not any(key.startswith("prompted/") for key in metrics)
    call(evaluate.main, f"--config={TINY}", f"--workdir={workdir}",
         "--config.evaluation.num_prompts=3")
    with open(path) as f:
        metrics = json.load(f)
    assert "prompted/tokenizing_line_share: " in capsys.readouterr().out
    assert 0 < metrics["characters"] <= metrics["bytes"]
    assert metrics["bits_per_character"] == pytest.approx(
        metrics["bits_per_byte"] * metrics["bytes"] / metrics["characters"])
    with open(os.path.join(workdir, "eval", "samples.json")) as f:
        texts = json.load(f)
    assert {group: len(t) for group, t in texts.items()} == {"unconditional": 2, "prompted": 3}
    for group, samples in (("unconditional", 2), ("prompted", 3)):
        assert {f"{group}/{key}" for key in CODE_MEASURES} <= set(metrics)
        empty = metrics[f"{group}/empty_samples"]
        assert metrics[f"{group}/empty_share"] == pytest.approx(empty / samples)
        for share in ("parse_share", "tokenizing_line_share"):  # empty samples score 0
            assert 0.0 <= metrics[f"{group}/{share}"] <= 1.0 - empty / samples + 1e-9
