"""config.lora in the binaries that fine-tune a trained model (tfllm-finetune,
tfllm-pretrain from config.init_from, tfllm-rl-finetune): adapters train, the workdir ends
with the merged model, a rerun resumes, bad settings are one line."""

import importlib.util
import json
import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from tests.bin.binaries import BIN, PROMPTS, QUIET, ROOT, TINY, call
from tfllm import experiment
from tfllm.bin import common, finetune, pretrain
from tfllm.bin.rl_finetune import finetune as rl_finetune


def weights_by_path(model):
    return {v.path.split("/", 1)[1]: v.numpy() for v in model.weights}


def changed_paths(start, end):
    return sorted(p for p in start if not np.array_equal(start[p], end[p]))


def chat_file(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps({"prompt": PROMPTS[i % 3], "response": f"ok {i}"})
                            + "\n" for i in range(8)))
    return str(path)


def test_chat_finetune_with_lora_leaves_the_merged_model_in_the_workdir(
        trained_preset, tmp_path, capsys):
    workdir = str(tmp_path / "sft")
    args = [f"--config={TINY}", f"--workdir={workdir}",
            f"--init_workdir={trained_preset.workdir}", f"--train_file={chat_file(tmp_path)}",
            "--config.training.steps=2", "--config.training.checkpoint_every_steps=1",
            "--config.lora.rank=4", "--config.lora.alpha=8",
            "--config.lora.target=qkv,feed_forward/inner", *QUIET]
    call(finetune.main, *args)
    assert "step 2 (completed)" in capsys.readouterr().out
    stored = [name for name, _ in tf.train.list_variables(
        os.path.join(workdir, "lora_checkpoints"))
        if name.startswith("model") and "OPTIMIZER_SLOT" not in name]
    assert len(stored) == 2 * 2 * 2 and all("lora_kernel" in name for name in stored)
    assert common.checkpoint_step(workdir) == 2  # the merged model, for later binaries
    start = weights_by_path(experiment.load_model(trained_preset.workdir))
    merged = experiment.load_model(workdir)
    assert type(merged).__name__ == "DecoderLM"
    assert changed_paths(start, weights_by_path(merged)) == [
        f"decoder/block_{i}/{layer}/kernel" for i in (0, 1)
        for layer in ("feed_forward/inner", "self_attention/qkv")]
    # the adapters file turns the start model into the fine-tuned one
    adapted = experiment.load_model(trained_preset.workdir)
    adapted.load_lora_weights(os.path.join(workdir, "adapters.lora.h5"))
    ids = np.array([[1, 5, 9, 2, 7]], np.int32)
    np.testing.assert_allclose(adapted(ids).numpy(), merged(ids).numpy(), atol=2e-5)
    # a rerun finds the run finished: the same merged model, nothing trained
    call(finetune.main, *args)
    assert "step 2 (completed)" in capsys.readouterr().out
    again = weights_by_path(experiment.load_model(workdir))
    assert changed_paths(weights_by_path(merged), again) == []


def test_dpo_with_lora_trains_adapters_against_the_start_model(trained_preset, tmp_path,
                                                               capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": p, "chosen": " good", "rejected": " bad"})
                             + "\n" for p in PROMPTS * 2))
    workdir = str(tmp_path / "dpo")
    call(finetune.main, f"--config={ROOT}/configs/dpo_sentiment.py", f"--workdir={workdir}",
         f"--init_workdir={trained_preset.workdir}", f"--train_file={pairs}",
         "--config.training.steps=2", "--config.training.batch_size=2",
         "--config.data.sequence_length=32", "--config.lora.rank=2", *QUIET)
    assert "step 2 (completed)" in capsys.readouterr().out
    start = weights_by_path(experiment.load_model(trained_preset.workdir))
    end = weights_by_path(experiment.load_model(workdir))
    assert changed_paths(start, end) == [f"decoder/block_{i}/self_attention/qkv/kernel"
                                         for i in (0, 1)]


def test_continued_pretraining_with_lora_trains_the_attention_only(trained_preset, tmp_path):
    workdir = str(tmp_path / "continued")
    call(pretrain.main, f"--config={TINY}", f"--workdir={workdir}",
         f"--config.init_from={trained_preset.workdir}", "--config.training.steps=2",
         "--config.data.max_files=5", "--config.lora.rank=2",
         "--config.lora.target=attention", *QUIET)
    start = weights_by_path(experiment.load_model(trained_preset.workdir))
    end = weights_by_path(experiment.load_model(workdir))
    assert changed_paths(start, end) == [f"decoder/block_{i}/self_attention/{layer}/kernel"
                                         for i in (0, 1) for layer in ("output", "qkv")]


def test_rl_finetune_with_lora_trains_adapters_and_the_value_head(trained_preset, tmp_path):
    spec = importlib.util.spec_from_file_location("rl_sentiment",
                                                  os.path.join(ROOT, "configs", "rl_sentiment.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    config.init_from = trained_preset.workdir
    config.data.update(corpus="python_stdlib_code", max_files=5)
    config.env.update(max_new_tokens=4, prompt_tokens=2)
    config.driver.num_episodes = 4
    config.evaluation.num_episodes = 4
    config.training.update(iterations=1, sample_every=0, checkpoint_every=1)
    # the 4 samples may share one reward: whitened, it would train nothing
    config.agent.update(whiten_rewards=False, normalize_advantages=False)
    config.lora.rank = 2
    workdir = str(tmp_path / "rl")
    rl_finetune(config, workdir)
    stored = {name.split("/")[1] for name, _ in tf.train.list_variables(
        os.path.join(workdir, "lora_checkpoints"))
        if name.startswith("model_trainable_weights/")}
    assert stored == {f"decoder.Sblock_{i}.Sself_attention.Sqkv.Slora_kernel_{ab}"
                      for i in (0, 1) for ab in "ab"} | {"value_head.Sdense.Skernel",
                                                         "value_head.Sdense.Sbias"}
    start = weights_by_path(experiment.load_model(trained_preset.workdir))
    end = weights_by_path(experiment.load_model(workdir))
    assert np.abs(end["value_head/dense/kernel"]).max() > 0  # trained from zeros
    assert changed_paths(start, {p: end[p] for p in start}) == [
        "decoder/block_0/self_attention/qkv/kernel", "decoder/block_1/self_attention/qkv/kernel"]
    config.agent.name = "q"
    with pytest.raises(ValueError, match="config.agent.name='q': the Q-learning target"):
        rl_finetune(config, str(tmp_path / "q"))


def test_bad_lora_settings_are_one_line(trained_preset, tmp_path):
    data = chat_file(tmp_path)
    base = [f"--config={TINY}", f"--train_file={data}", "--config.training.steps=1", *QUIET]
    start = f"--init_workdir={trained_preset.workdir}"
    cases = [
        ([start, "--config.lora.target=qkv,nope"],
         "config.lora.target='qkv,nope': LoRA target 'nope' matches no Dense layer of this "
         "DecoderLM"),
        ([start, "--config.lora.target= , "], "config.lora.target is empty"),
        ([start, "--config.lora.alpha=-1"], "config.lora.alpha=-1.0: expected >= 0"),
        ([], "config.lora.rank=2: LoRA fine-tunes a trained model; give --init_workdir"),
    ]
    for extra, message in cases:
        with pytest.raises(ValueError) as error:
            call(finetune.main, *base, f"--workdir={tmp_path / 'run'}",
                 "--config.lora.rank=2", *extra)
        assert common.one_line(error.value).startswith(message)
    # the console script: one line on stderr, exit status 1, nothing written
    done = subprocess.run([os.path.join(BIN, "tfllm-finetune"), *base, start,
                           f"--workdir={tmp_path / 'negative'}", "--config.lora.rank=-1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "tfllm-finetune: error: config.lora.rank=-1: expected an int >= 0 (0: LoRA off)"]
    assert not os.path.exists(tmp_path / "negative")
