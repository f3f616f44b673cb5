"""Workdirs the binaries leave behind: a failed or changed rerun breaks nothing, a run
killed after its last checkpoint is finished by a rerun (real console scripts in
subprocesses), settings that cannot run are one line before anything is traced."""

import re
import signal
import time

import pytest

from tests.bin.binaries import FLAGS, QUIET, TINY, call, parse, script
from tfllm import experiment
from tfllm.bin import common, pretrain


def test_rows_longer_than_the_model_are_one_line_not_in_user_code(tmp_path):
    with pytest.raises(ValueError) as error:
        call(pretrain.main, f"--config={TINY}", f"--workdir={tmp_path}", *QUIET,
             "--config.data.sequence_length=4096", "--config.training.steps=2")
    assert common.one_line(error.value).startswith(
        "training data: token_ids rows of 4096 tokens exceed the model's "
        "max_sequence_length "), str(error.value)


def test_a_failed_rerun_leaves_the_workdir_as_it_was(tmp_path):
    workdir = tmp_path / "run"
    first = script("tfllm-pretrain", f"--config={TINY}", f"--workdir={workdir}", *QUIET,
                   "--config.training.steps=2", "--config.data.max_files=20")
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert "Sharding callback" not in stderr  # no INFO line per checkpoint
    before = {name: (workdir / name).read_bytes() for name in ("config.json", "model.json")}
    rerun = [f"--config={TINY}", f"--workdir={workdir}", *QUIET, "--config.training.steps=4",
             "--config.data.max_files=20"]
    # refusals in this process (the console script's one line is tests/bin/test_binaries.py's)
    for override, expected in (
            ("--config.model.preset=speedrun", "model.json config.hidden_dim: 32 -> 128"),
            ("--config.tokenizer.vocabulary_size=300", "config.tokenizer.vocabulary_size: "),
            ("--config.data.corpus=wikipedia", "unknown corpus 'wikipedia'")):
        with pytest.raises(ValueError, match=re.escape(expected)):
            call(pretrain.main, *rerun, override)
    for name, content in before.items():
        assert (workdir / name).read_bytes() == content, name
    assert common.checkpoint_step(str(workdir)) == 2
    # The same model again, built in one process under another automatic name: no error.
    for _ in range(2):
        call(pretrain.main, f"--config={TINY}", f"--workdir={workdir}", *QUIET,
             "--config.training.steps=2", "--config.data.max_files=20")


def test_a_single_file_corpus_splits_by_lines(tmp_path):
    path = tmp_path / "one.py"
    lines = [f"x{i} = {i}\n" for i in range(40)]
    path.write_text("".join(lines))
    parse(f"--config={TINY}", "--workdir=unused", f"--config.data.files={path}")
    train = experiment.corpus_texts(FLAGS.config, "train")
    validation = experiment.corpus_texts(FLAGS.config, "validation")
    assert train == ["".join(lines[:38])] and validation == ["".join(lines[38:])]
    path.write_text("x = 1\n")
    with pytest.raises(ValueError, match="single file of 1 line"):
        experiment.corpus_texts(FLAGS.config, "train")


def test_a_run_killed_after_its_last_checkpoint_is_finished_by_a_rerun(tmp_path):
    """SIGKILL between the final checkpoint and the end (final evaluation, samples):
    rerunning the command ends the workdir as an uninterrupted run ends."""
    from tensorboard.backend.event_processing import event_accumulator

    # Many long samples at the end keep the process alive after its last checkpoint.
    args = [f"--config={TINY}", *QUIET, "--config.data.max_files=20",
            "--config.training.steps=4", "--config.training.eval_steps=8",
            "--config.training.num_samples=64", "--config.training.sample_length=26"]

    def final_line(stdout):
        return next(line for line in stdout.splitlines() if line.startswith("step 4 "))

    def tags(workdir):
        acc = event_accumulator.EventAccumulator(str(workdir / "tensorboard"))
        acc.Reload()
        return {tag: [e.step for e in acc.Tensors(tag)] for tag in acc.Tags()["tensors"]}

    whole = script("tfllm-pretrain", f"--workdir={tmp_path / 'whole'}", *args)
    stdout, stderr = whole.communicate(timeout=300)
    assert whole.returncode == 0, stderr
    assert "cuInit" not in stderr and "E0000" not in stderr, stderr  # no native noise
    killed = script("tfllm-pretrain", f"--workdir={tmp_path / 'killed'}", *args)
    final = tmp_path / "killed" / "checkpoints" / "ckpt-4.index"
    deadline = time.time() + 300
    while not final.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    rerun = script("tfllm-pretrain", f"--workdir={tmp_path / 'killed'}", *args)
    rerun_out, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert final_line(rerun_out).split(": ")[1].split(", ")[:4] == \
        final_line(stdout).split(": ")[1].split(", ")[:4]  # eval/* metrics
    whole_tags, rerun_tags = tags(tmp_path / "whole"), tags(tmp_path / "killed")
    assert set(whole_tags) == set(rerun_tags)
    assert {tag for tag in rerun_tags if tag.startswith("eval/")} and all(
        4 in rerun_tags[tag] for tag in rerun_tags if tag.startswith("eval/"))
