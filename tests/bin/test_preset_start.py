"""`preset:<name>` as the start of the binaries (config.init_from, --init_workdir, a
reference workdir): they train from the trained preset's weights and tokenizer without
writing into its folder; an unknown preset is one line and leaves no workdir."""

import json
import os

import numpy as np
import pytest

from tests.bin.binaries import FLAGS, PROMPTS, QUIET, ROOT, TINY, call, parse, script
from tfllm import experiment
from tfllm.bin import evaluate, finetune, pretrain, rl_finetune, train_reward
from tfllm.models import DecoderLM
from tfllm.models.presets import PRESETS_DIR_VARIABLE
from tfllm.tokenizers import Tokenizer

# one step that keeps the weights
FROZEN = ["--config.schedule.peak_learning_rate=0.0", "--config.training.steps=1", *QUIET]


def folder_contents(directory):
    """{path below `directory`: bytes} of every file."""
    out = {}
    for d, _, names in os.walk(directory):
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                out[os.path.relpath(os.path.join(d, name), directory)] = f.read()
    return out


def assert_same_weights(model, start):
    weights, expected = model.get_weights(), start.get_weights()
    assert len(weights) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(weights, expected))


@pytest.fixture
def preset(trained_preset, monkeypatch):
    monkeypatch.setenv(PRESETS_DIR_VARIABLE, trained_preset.presets_dir)
    before = folder_contents(trained_preset.directory)
    yield trained_preset
    assert folder_contents(trained_preset.directory) == before  # read only


def test_pretrain_and_finetune_start_from_a_preset(preset, tmp_path):
    start = DecoderLM.from_preset(preset.name)
    continued = str(tmp_path / "continued")
    call(pretrain.main, f"--config={TINY}", f"--workdir={continued}",
         f"--config.init_from=preset:{preset.name}", "--config.data.max_files=20", *FROZEN)
    assert_same_weights(experiment.load_model(continued), start)
    with open(os.path.join(continued, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["init_from"] == f"preset:{preset.name}"
    assert Tokenizer.load(os.path.join(continued, "tokenizer")).vocabulary_size == \
        Tokenizer.from_preset(preset.name).vocabulary_size

    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({"prompt": p, "response": "ok"}) + "\n"
                            for p in PROMPTS * 3))
    sft = str(tmp_path / "sft")
    call(finetune.main, f"--config={TINY}", f"--workdir={sft}", f"--train_file={chat}",
         f"--init_workdir=preset:{preset.name}", *FROZEN)
    assert_same_weights(experiment.load_model(sft), start)


def test_a_reward_model_and_references_start_from_a_preset(preset, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": p, "chosen": " good", "rejected": " bad"})
                             + "\n" for p in PROMPTS * 4))
    workdir = str(tmp_path / "reward")
    call(train_reward.main, f"--config={ROOT}/configs/reward_sentiment.py",
         f"--workdir={workdir}", f"--config.pairs.file={pairs}",
         f"--config.init_from=preset:{preset.name}", "--config.training.batch_size=4",
         "--config.data.sequence_length=16", "--config.training.eval_every=0", *FROZEN)
    assert_same_weights(experiment.load_model(workdir).backbone,
                        DecoderLM.from_preset(preset.name))

    parse(f"--config={TINY}", "--workdir=unused", f"--config.init_from=preset:{preset.name}")
    tokenizer = Tokenizer.from_preset(preset.name)
    _, reference = evaluate.reference_model(FLAGS.config, tokenizer, "rl")
    assert reference == preset.directory
    FLAGS.config.init_from = "preset:nope"
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        rl_finetune.finetune(FLAGS.config, str(tmp_path / "rl"))


def test_an_unknown_preset_is_one_line_and_no_workdir(preset, tmp_path):
    workdir = tmp_path / "run"
    process = script("tfllm-pretrain", f"--config={TINY}", f"--workdir={workdir}",
                     "--config.init_from=preset:nope", *QUIET)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1
    assert stderr.strip() == (
        f"tfllm-pretrain: error: unknown preset 'nope'; trained presets in "
        f"{preset.presets_dir}: {preset.name}; untrained architectures: gpt2_124m, small, "
        f"speedrun, tiny")
    assert not workdir.exists()
