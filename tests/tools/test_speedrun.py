"""tools/speedrun.py (bench.py --task=speedrun): the metric on hand-checked cases, and a run
on a tiny data folder that stops at its target."""

import json
import math
import pathlib
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

TOOLS = pathlib.Path(__file__).parents[2] / "tools"
sys.path.insert(0, str(TOOLS))

import bench  # noqa: E402
import speedrun  # noqa: E402

STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])


def write_data(folder):
    """A data folder as the benchmark's make_data.py writes it, from five stdlib files."""
    def blob(names):
        return "".join((STDLIB / f"{name}.py").read_text() + "\x00" for name in names).encode()

    (folder / "train.bin").write_bytes(blob(["colorsys", "bisect", "fnmatch", "shlex"]))
    (folder / "val.bin").write_bytes(blob(["keyword"]))
    return folder


def tiny_recipe(**training):
    config = speedrun.load_recipe("nanogpt")
    config.model.update(num_layers=1, num_heads=2, hidden_dim=32, intermediate_dim=64,
                        max_sequence_length=16)
    config.schedule.update(warmup_steps=2, decay_steps=40, peak_learning_rate=3e-3)
    config.training.update(batch_size=4, sequence_length=16, max_steps=40, eval_every=5,
                           **training)
    return config


def test_read_documents_keeps_every_byte(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"ab\x00cd\x00ef")
    documents, size = speedrun.read_documents(str(path))
    assert documents == ["ab\x00", "cd\x00", "ef"] and size == 8
    documents, size = speedrun.read_documents(str(path), limit=4)
    assert documents == ["ab\x00", "c"] and size == 4


def test_read_documents_names_the_bad_byte(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc\xff")
    with pytest.raises(SystemExit, match=r"x.bin: not UTF-8 at byte 3"):
        speedrun.read_documents(str(path))


def test_validation_windows_label_every_token_once():
    inputs, labels, mask = speedrun.validation_windows(np.array([5, 6, 7, 8, 9]), 1, 2)
    np.testing.assert_array_equal(inputs, [[1, 5], [6, 7], [8, 0]])
    np.testing.assert_array_equal(labels, [[5, 6], [7, 8], [9, 0]])
    np.testing.assert_array_equal(mask, [[1, 1], [1, 1], [1, 0]])


def test_bits_per_byte_equals_a_direct_computation():
    import keras

    from tfllm.models import DecoderLM

    model = DecoderLM(vocabulary_size=20, num_layers=1, num_heads=2, hidden_dim=8,
                      intermediate_dim=16, max_sequence_length=4)
    tokens = np.random.default_rng(0).integers(3, 20, 11).astype(np.int32)
    windows = speedrun.validation_windows(tokens, 2, 4)
    lengths = np.arange(20) % 4  # bytes each token stands for
    size = int(lengths[tokens].sum())
    bpb = speedrun.bits_per_byte(model, windows, lengths, eval_bytes=size, batch=2)
    with pytest.raises(SystemExit, match=f"cover {size} bytes, not {size + 1}"):
        speedrun.bits_per_byte(model, windows, lengths, eval_bytes=size + 1)
    # Direct: each token from the tokens before it in its window of 4 (the first from 2).
    total, context = 0.0, np.concatenate([[2], tokens])
    for start in range(0, len(tokens), 4):
        window = context[start:start + 4]
        log_probs = np.asarray(keras.ops.log_softmax(model(window[None])[0]))
        targets = tokens[start:start + 4]
        total -= sum(log_probs[i, t] for i, t in enumerate(targets))
    assert bpb == pytest.approx(total / (size * math.log(2)), rel=1e-5)


@pytest.mark.parametrize("kind", ["byte", "sentencepiece"])
def test_run_stops_at_the_target_and_reports_its_time(tmp_path, kind):
    data = write_data(tmp_path)
    config = tiny_recipe()
    if kind == "sentencepiece":
        config.tokenizer.update(kind="sentencepiece", vocabulary_size=500, sample_bytes=40_000,
                                options={"model_type": "bpe"})
    eval_bytes = 200
    full = speedrun.run(config, str(data), 0.0, eval_bytes, bench.make_train_step)
    assert full["train_seconds_to_target"] is None and full["steps"] == 40
    assert [row[0] for row in full["curve"]] == list(range(5, 45, 5))
    seconds = [row[1] for row in full["curve"]]
    assert seconds == sorted(seconds) and full["train_seconds"] >= seconds[-1] - 0.01
    bpb = [row[2] for row in full["curve"]]
    assert bpb[-1] < bpb[0]
    if kind == "byte":
        assert full["bytes_per_token_val"] == 1.0 and full["vocabulary_size"] == 261
    else:
        assert full["bytes_per_token_val"] > 1.2  # pieces of several bytes
    # The same seed and a target between the curve's first and last value: the run stops
    # at the first evaluation at or under it, with that evaluation's time.
    target = (bpb[0] + bpb[-1]) / 2
    first = next(i for i, value in enumerate(bpb) if value <= target)
    stopped = speedrun.run(config, str(data), target, eval_bytes, bench.make_train_step)
    assert stopped["steps"] == full["curve"][first][0]
    assert stopped["final_val_bpb"] == pytest.approx(bpb[first], abs=2e-3)
    assert stopped["train_seconds_to_target"] == stopped["train_seconds"]


def test_bench_speedrun_prints_one_json_line_and_checks_its_data(tmp_path, repo_root):
    data = write_data(tmp_path)
    argv = [sys.executable, str(TOOLS / "bench.py"), "--task=speedrun", f"--data={data}",
            "--recipe=nanogpt", "--max_steps=1", "--eval_bytes=100", "--json"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(result.stdout.strip())
    assert record["task"] == "speedrun" and record["steps"] == 1
    assert record["recipe"]["schedule"]["decay_steps"] == 1
    missing = subprocess.run([*argv[:3], f"--data={tmp_path / 'none'}", *argv[4:]],
                             capture_output=True, text=True, timeout=300, cwd=repo_root)
    assert missing.returncode != 0
    assert "none/train.bin does not exist" in missing.stderr.strip().splitlines()[-1]
    unknown = subprocess.run([*argv[:4], "--recipe=fast", *argv[5:]],
                             capture_output=True, text=True, timeout=300, cwd=repo_root)
    assert unknown.returncode != 0 and "unknown recipe 'fast'" in unknown.stderr
