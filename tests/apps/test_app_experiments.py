"""tools/app_experiments.py and the app configs: data, bad input, tiny runs through the
binaries (tfllm-finetune, tfllm-evaluate; their app modes: tests/bin/test_app_modes.py,
tests/evaluation/test_seq2seq.py)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
PAIRS = [("the cat sleeps", "le chat dort"), ("the dog eats", "le chien mange"),
         ("a cat eats", "un chat mange"), ("a dog sleeps", "un chien dort")] * 6


def load(rel, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


apps = load("tools/app_experiments.py", "tfllm_tools_app_experiments")


def translation_config(tmp_path, train_lines, test_lines):
    for name, lines in (("train", train_lines), ("test", test_lines)):
        (tmp_path / f"{name}.tsv").write_text("".join(line + "\n" for line in lines))
    config = load("configs/seq2seq_translation.py", "tfllm_config_translation").get_config()
    config.data.train_file = str(tmp_path / "train.tsv")
    config.data.test_file = str(tmp_path / "test.tsv")
    return config


def test_tsv_wrong_column_count_names_file_and_line(tmp_path):
    config = translation_config(tmp_path, ["a b\tc d", "only one column", "e\tf"], ["a\tb"])
    with pytest.raises(ValueError, match=r"train\.tsv:2: expected at least 2 tab-separated"):
        apps.read_pairs(config, "train")


def test_empty_test_split(tmp_path):
    config = translation_config(tmp_path, ["a\tb"], ["", "   "])
    with pytest.raises(ValueError, match=r"the test split of .*test\.tsv has no pairs"):
        apps.read_pairs(config, "test")


def test_pairs_are_encoded_as_tfllm_finetune_encodes_them(tmp_path):
    """The tool's seq2seq batches are tfllm.experiment.seq2seq_dataset's: source + <eos>
    (encode_sources, as decoding reads it), <bos> + target -> target + <eos>."""
    from tfllm import experiment
    from tfllm.data.seq2seq import encode_sources
    from tfllm.tokenizers import Tokenizer

    config = translation_config(tmp_path, [f"{s}\t{t}" for s, t in PAIRS], ["a\tb"])
    config.training.batch_size = 4
    tokenizer = Tokenizer.train([], None, kind="byte")
    batch = next(iter(experiment.seq2seq_dataset(config, tokenizer,
                                                 apps.read_pairs(config, "train"), False)))
    target = tokenizer.encode("le chat dort")
    n = len(target)
    np.testing.assert_array_equal(batch["decoder_token_ids"][0, :n + 1],
                                  [tokenizer.bos_id] + target)
    np.testing.assert_array_equal(batch["labels"][0, :n + 1], target + [tokenizer.eos_id])
    assert batch["loss_mask"][0].numpy().sum() == n + 1
    source = encode_sources(tokenizer, ["the cat sleeps"])[0]
    assert source[-1] == tokenizer.eos_id and len(source) == len("the cat sleeps") + 1
    real = batch["encoder_padding_mask"][0].numpy()
    assert real.sum() == len(source)
    np.testing.assert_array_equal(batch["encoder_token_ids"][0].numpy()[real], source)


def test_bad_samplers_fail_before_training(tmp_path):
    config = translation_config(tmp_path, ["a\tb"], ["a\tb"])
    for samplers in ((), ("greedy", "top_k")):
        config.evaluation.samplers = samplers
        with pytest.raises(ValueError, match=r"config\.evaluation\.samplers=.*'greedy' and/or"):
            apps.run_seq2seq(config, str(tmp_path / "run"))
    config.evaluation.samplers = ("greedy",)
    config.evaluation.baseline = "names"
    with pytest.raises(ValueError, match=r"config\.evaluation\.baseline='names'"):
        apps.run_seq2seq(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_chat_records_ask_about_the_def_line():
    records = apps.chat_records("python_code_to_docstring", "train")
    # The first training pair (platform.py), by hand.
    assert records[0] == {"prompt": "What does `def _aix_bos_rte():` do?",
                          "response": "Return a Tuple[str, int] e.g., ['7.1.4.34', 1806]"}
    # A decorated method: the question names the def line, not the decorator.
    close = [r for r in records if r["response"] == "Raise GeneratorExit inside coroutine."]
    assert close and close[0]["prompt"] == "What does `def close(self):` do?"
    for r in records:
        signature = r["prompt"][len("What does `"):-len("` do?")]
        assert signature.startswith(("def ", "async def ")) and len(signature) <= 100
        assert r["response"] == r["response"].strip() and r["response"]
    assert 5000 < len(records) <= 5427
    with pytest.raises(ValueError, match="unknown corpus .no_such_corpus."):
        apps.chat_records("no_such_corpus", "train")


def test_chat_data_trains_on_the_response_only(tmp_path):
    from tfllm.data.prompts import CHAT_TEMPLATE, make_chat_dataset
    from tfllm.tokenizers import Tokenizer

    counts = apps.write_chat_data(str(tmp_path))
    lines = (tmp_path / "test.jsonl").read_text().splitlines()
    assert counts["test"] == len(lines) and counts["train"] > counts["test"]
    first = json.loads(lines[0])
    tokenizer = Tokenizer.train([], None, kind="byte")
    batch = next(iter(make_chat_dataset(str(tmp_path / "test.jsonl"), tokenizer, 200, 1,
                                        shuffle=False)))
    prompt = CHAT_TEMPLATE.format(prompt=first["prompt"])
    n_prompt, n_response = len(tokenizer.encode(prompt)), len(tokenizer.encode(first["response"]))
    mask = batch["loss_mask"][0].numpy()
    assert mask[:n_prompt].sum() == 0 and mask.sum() == n_response + 1  # + <eos>
    labels = batch["labels"][0].numpy()[mask > 0]
    assert tokenizer.decode(labels[:-1].tolist()) == first["response"]


def test_configs_build():
    from tfllm.experiment import FINETUNE_KINDS
    from tfllm.objectives import OBJECTIVES

    for rel in ("configs/code_to_docstring.py", "configs/seq2seq_translation.py",
                "configs/preference_vector_sentiment.py", "configs/classifier_sentiment.py",
                "configs/chat_sft.py"):
        config = load(rel, "tfllm_config_" + os.path.basename(rel)[:-3]).get_config()
        mode = config.evaluation.mode
        assert mode in (*apps.RUNNERS, "lm")
        assert config.objective.name in OBJECTIVES
        if mode in apps.RUNNERS:  # the data kind tfllm-finetune trains for the app
            assert config.data.kind == apps.DATA_KINDS[mode]
            assert config.data.kind in FINETUNE_KINDS


def tool(tmp_path, *args):
    """Runs the tool (as the docs do) with `args`; its CompletedProcess."""
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools/app_experiments.py"),
                           *args], capture_output=True, text=True, cwd=ROOT)


def test_tiny_classification_run(tmp_path):
    """The tool on labelled files: tfllm-finetune trains, tfllm-evaluate measures (its
    metrics.json and confusion-matrix image), the tool adds the majority baseline."""
    texts = {"good": ["great fine nice", "nice good great"], "bad": ["awful bad poor",
                                                                     "poor sad awful"]}
    lines = [f"{t}\t{label}" for label, ts in texts.items() for t in ts] * 8
    (tmp_path / "train.tsv").write_text("\n".join(lines) + "\n")
    (tmp_path / "test.tsv").write_text("\n".join(lines[:4]) + "\n")
    workdir = tmp_path / "run"
    done = tool(tmp_path, "--config=" + os.path.join(ROOT, "configs/classifier_sentiment.py"),
                f"--workdir={workdir}", f"--results={tmp_path / 'cls'}",
                "--config.data.corpus=", "--config.data.label_names=()",
                f"--config.data.train_file={tmp_path / 'train.tsv'}",
                f"--config.data.test_file={tmp_path / 'test.tsv'}",
                "--config.tokenizer.kind=byte", "--config.model.num_layers=1",
                "--config.model.hidden_dim=16", "--config.model.intermediate_dim=32",
                "--config.model.num_heads=2", "--config.training.steps=2",
                "--config.training.batch_size=8", "--config.training.jit_compile=False")
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "cls.json").read_text())
    assert results["classes"] == ["bad", "good"] and results["test_examples"] == 4
    assert results["steps"] == 2 and results["train_examples"] == 32
    assert sum(map(sum, results["model"]["confusion_matrix"])) == 4
    assert results["model"] == json.loads((workdir / "eval" / "metrics.json").read_text())
    assert results["majority_accuracy"] == 0.5
    assert isinstance(results["final_train_loss"], float)
    events = os.listdir(workdir / "tensorboard" / "eval")
    assert any(name.startswith("events.") for name in events)
    config = json.loads((workdir / "config.json").read_text())  # what tfllm-finetune ran
    assert config["training"]["steps"] == 2 and config["data"]["label_names"] == ["bad",
                                                                                  "good"]
    assert "| EncoderClassifier |" in (tmp_path / "cls.md").read_text()


def test_preference_vector_data_and_binaries(tmp_path, monkeypatch):
    """The tool's preference-vector run: the corpus' train sentences with their VADER
    compound as {"text", "score"} JSONL, given to tfllm-finetune; the report from
    tfllm-evaluate's metrics and the training's scalars (the binaries: tests/bin)."""
    config = load("configs/preference_vector_sentiment.py", "tfllm_config_pv").get_config()
    calls = []
    monkeypatch.setattr(apps, "finetune", lambda workdir, *args: calls.append(args) or 1.0)
    generations = {"+1": {"mean_sentiment": 0.5}, "-1": {"mean_sentiment": -0.5}}
    monkeypatch.setattr(apps, "evaluate", lambda workdir: {"generations": generations})
    monkeypatch.setattr(apps, "training_scalars",
                        lambda workdir: {"steps": 7, "train/loss": 2.5})
    results = apps.run_preference_vector(config, str(tmp_path))
    path = str(tmp_path / "data" / "train.jsonl")
    assert calls == [(f"--train_file={path}",)]
    rows = [json.loads(line) for line in open(path)]
    sentences = apps.scored_sentences(config, "train")
    assert [(r["text"], r["score"]) for r in rows] == sentences
    assert all(30 <= len(r["text"]) <= 240 and -1.0 <= r["score"] <= 1.0 for r in rows)
    assert results["train_sentences"] == len(rows) > 1000
    assert results["train_mean_sentiment"] == pytest.approx(np.mean([r["score"] for r in rows]))
    assert (results["steps"], results["final_train_loss"]) == (7, 2.5)
    assert results["generations"] == generations


def test_mode_and_data_kind_must_agree(tmp_path):
    done = tool(tmp_path, "--config=" + os.path.join(ROOT, "configs/classifier_sentiment.py"),
                f"--workdir={tmp_path / 'run'}", "--config.data.kind=chat")
    assert done.returncode == 1
    assert done.stderr.strip().endswith("config.data.kind='chat': the classification app "
                                        "trains tfllm-finetune's 'classification' data kind")
    assert not (tmp_path / "run").exists()


def test_translation_report_from_the_binaries_metrics(tmp_path, monkeypatch):
    """The tool's seq2seq run: tfllm-finetune, then tfllm-evaluate's metrics and the
    training's scalars into the results and the page (the binaries themselves:
    tests/bin/test_app_modes.py; the tool's own processes: the classification run)."""
    config = translation_config(tmp_path, [f"{s}\t{t}" for s, t in PAIRS],
                                ["the cat eats\tle chat mange"])
    calls = []
    monkeypatch.setattr(apps, "finetune", lambda workdir, *args: calls.append(args) or 4.0)
    metrics = {"examples": 1, "token_nll": None, "token_nll_shuffled_sources": None,
               "samples": [{"source": "the cat eats", "reference": "le chat mange",
                            "baseline": "the cat eats", "greedy": "le", "beam": "le chat"}]}
    for i, system in enumerate(("greedy", "beam", "baseline_copy")):
        metrics.update({f"{system}/bleu": 10.0 * i, f"{system}/rougeL": 0.1 * i})
        if system in ("greedy", "beam"):
            metrics[f"{system}/decode_seconds"] = 0.5
    monkeypatch.setattr(apps, "evaluate", lambda workdir: metrics)
    monkeypatch.setattr(apps, "training_scalars",
                        lambda workdir: {"steps": 3, "train/loss": 2.5})
    results = apps.run_seq2seq(config, str(tmp_path / "run"))
    assert calls == [()]
    assert results["steps"] == 3 and results["test_pairs"] == 1 and results["train_pairs"] == 24
    assert results["model_greedy"] == {"bleu": 0.0, "rougeL": 0.0, "decode_seconds": 0.5}
    assert results["model_beam"] == {"bleu": 10.0, "rougeL": 0.1, "decode_seconds": 0.5}
    assert results["baseline_copy"] == {"bleu": 20.0, "rougeL": 0.2}
    assert results["test_token_loss"] is None  # no teacher-forced evaluation was logged
    assert results["examples"] == metrics["samples"]
    page = apps.markdown(config, results, "the command")
    assert "| model_greedy |" in page and "| model_beam |" in page and "the command" in page
    config.data.test_file = str(tmp_path / "nonexistent.tsv")
    with pytest.raises(ValueError, match="nonexistent.tsv"):
        apps.run_seq2seq(config, str(tmp_path / "bad"))
    assert len(calls) == 1  # the missing test split fails before training
