"""tfllm-train-reward on a user pairs file; bad pairs files give one-line errors."""

import json
import sys

import pytest

from tests.bin.binaries import call
from tfllm.bin import common, train_reward
from tfllm.rl.preferences import read_pairs
from tfllm.rl.rewards import reward_fn_from_workdir

GOOD = ["good", "great", "nice", "happy"]
BAD = ["bad", "awful", "sad", "ugly"]


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_missing_field_names_file_and_line(tmp_path):
    path = write(tmp_path / "p.jsonl", [{"prompt": "a", "chosen": "b", "rejected": "c"},
                                        {"prompt": "a", "chosen": "b"}])
    with pytest.raises(ValueError, match=r"p.jsonl:2: missing field 'rejected'"):
        read_pairs(path)


def test_empty_file_and_non_string(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="empty file"):
        read_pairs(str(tmp_path / "empty.jsonl"))
    path = write(tmp_path / "n.jsonl", [{"prompt": "a", "chosen": 3, "rejected": "c"}])
    with pytest.raises(ValueError, match=r"n.jsonl:1: field 'chosen' must be a string"):
        read_pairs(path)


def run_binary(repo_root, *args, config="configs/reward_sentiment.py"):
    """tfllm-train-reward's main, in this process."""
    call(train_reward.main, f"--config={repo_root / config}", *args)


def error_line(repo_root, *args, config="configs/reward_sentiment.py"):
    """The one line tfllm-train-reward prints for the error these flags raise."""
    with pytest.raises(ValueError) as error:
        run_binary(repo_root, *args, config=config)
    return common.one_line(error.value)


def test_bad_file_is_one_line_error(tmp_path, repo_root):
    path = write(tmp_path / "p.jsonl", [{"prompt": "a", "chosen": "b"}])
    line = error_line(repo_root, f"--workdir={tmp_path / 'run'}", f"--config.pairs.file={path}")
    assert line.endswith("p.jsonl:1: missing field 'rejected'")


# the byte-level DecoderLM backbone, and the encoder variant: an EncoderClassifier over a
# sentencepiece tokenizer trained here on 20 docs files
BACKBONES = {
    "decoder_lm": ("configs/reward_sentiment.py", ["--config.model.num_layers=1"]),
    "encoder": ("configs/reward_sentiment.py:encoder",
                ["--config.model.num_layers=1", "--config.tokenizer.vocabulary_size=600",
                 "--config.data.max_files=20"]),
}


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_trains_reward_model_usable_as_reward_fn(tmp_path, repo_root, backbone):
    config, extra = BACKBONES[backbone]
    records = [{"prompt": "It is", "chosen": f" {GOOD[i % 4]}", "rejected": f" {BAD[i // 4 % 4]}"}
               for i in range(120)]
    path = write(tmp_path / "pairs.jsonl", records)
    workdir = tmp_path / "run"
    run_binary(repo_root, f"--workdir={workdir}", f"--config.pairs.file={path}",
               "--config.training.steps=40", "--config.training.batch_size=16",
               "--config.data.sequence_length=16", "--config.training.eval_every=0",
               *extra, config=config)
    metrics = json.loads((workdir / "eval" / "metrics.json").read_text())
    assert metrics["validation_pairs"] == 12 and metrics["pairwise_accuracy"] >= 0.9
    reward = reward_fn_from_workdir(str(workdir))
    good, bad = reward(["It is great", "It is nice"]), reward(["It is awful", "It is sad"])
    assert min(good) > max(bad)
    if backbone == "decoder_lm":  # a rerun with another model leaves the workdir as it was
        written = {name: (workdir / name).read_bytes() for name in ("config.json", "model.json")}
        line = error_line(repo_root, f"--workdir={workdir}", f"--config.pairs.file={path}",
                          "--config.model.num_layers=2", config=config)
        assert "holds a run with a different model" in line
        assert written == {name: (workdir / name).read_bytes() for name in written}


def test_unknown_backbone_is_an_error(repo_root):
    sys.path.insert(0, str(repo_root / "configs"))
    import reward_sentiment  # pylint: disable=import-outside-toplevel

    assert reward_sentiment.get_config("encoder").model.kind == "encoder_classifier"
    with pytest.raises(ValueError, match="reward_sentiment.py:gpt: expected decoder_lm or encoder"):
        reward_sentiment.get_config("gpt")
