"""tools/app_experiments.py and the app configs: data, baseline, bad input, a tiny run."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

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


def test_function_name_baseline():
    assert apps.function_name_words("def get_file_name(self):\n    pass\n") == "Get file name."
    assert apps.function_name_words("async def readHTTPHeader(x):\n") == "Read http header."
    assert apps.function_name_words("x = 1\n") == ""


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


def test_source_shuffled_losses_tell_a_copying_model_from_a_blind_one(tmp_path):
    """A model that copies its source: loss ~0 on true pairs, high when the sources are
    shuffled; a model that never looks at the source: the same loss both ways (uniform
    logits: exactly log(vocabulary))."""
    from tfllm.tokenizers import Tokenizer

    config = translation_config(tmp_path, ["a\tb"], ["a\tb"])
    config.training.batch_size = 4
    tokenizer = Tokenizer.train([], None, kind="byte")
    vocabulary = tokenizer.vocabulary_size
    words = ["cat", "dog", "owl", "ant"] * 2
    pairs = [(w, w) for w in words]  # target = source: copying is perfect

    def copying(inputs, training=False):
        source = inputs["encoder_token_ids"]
        length = inputs["decoder_token_ids"].shape[1]
        labels = np.zeros(source.shape[:1] + (length,), np.int64)
        labels[:, :3] = source[:, :3]
        labels[:, 3] = tokenizer.eos_id  # every word has 3 bytes
        return tf.one_hot(labels, vocabulary) * 30.0

    def blind(inputs, training=False):
        return tf.zeros(inputs["decoder_token_ids"].shape + (vocabulary,))

    true, shuffled = apps.source_shuffled_losses(copying, tokenizer, pairs, config, seed=1)
    assert true < 1e-6 and shuffled > 5.0
    true, shuffled = apps.source_shuffled_losses(blind, tokenizer, pairs, config)
    assert true == pytest.approx(np.log(vocabulary)) and shuffled == pytest.approx(true)
    with pytest.raises(ValueError, match="fewer than one batch"):
        apps.source_shuffled_losses(blind, tokenizer, pairs[:3], config)


def test_bad_samplers_fail_before_training(tmp_path):
    config = translation_config(tmp_path, ["a\tb"], ["a\tb"])
    for samplers in ((), ("greedy", "top_k")):
        config.evaluation.samplers = samplers
        with pytest.raises(ValueError, match=r"config\.evaluation\.samplers=.*'greedy' and/or"):
            apps.run_seq2seq(config, str(tmp_path / "run"), None)
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
    from tfllm.objectives import OBJECTIVES

    for rel in ("configs/code_to_docstring.py", "configs/seq2seq_translation.py",
                "configs/preference_vector_sentiment.py", "configs/classifier_sentiment.py",
                "configs/chat_sft.py"):
        config = load(rel, "tfllm_config_" + os.path.basename(rel)[:-3]).get_config()
        assert config.evaluation.mode in (*apps.RUNNERS, "lm")
        assert config.objective.name in OBJECTIVES


def test_tiny_classification_run(tmp_path):
    texts = {"good": ["great fine nice", "nice good great"], "bad": ["awful bad poor",
                                                                     "poor sad awful"]}
    lines = [f"{t}\t{label}" for label, ts in texts.items() for t in ts] * 8
    (tmp_path / "train.tsv").write_text("\n".join(lines) + "\n")
    (tmp_path / "test.tsv").write_text("\n".join(lines[:4]) + "\n")
    config = load("configs/classifier_sentiment.py", "tfllm_config_cls").get_config()
    config.data.corpus = ""
    config.data.label_names = ()
    config.data.train_file = str(tmp_path / "train.tsv")
    config.data.test_file = str(tmp_path / "test.tsv")
    config.tokenizer.kind = "byte"
    config.model.update(num_layers=1, hidden_dim=16, intermediate_dim=32, num_heads=2)
    config.training.update(steps=2, batch_size=8, jit_compile=False)
    results = apps.run_classification(config, str(tmp_path / "run"), tf.distribute.get_strategy())
    assert results["classes"] == ["bad", "good"] and results["test_examples"] == 4
    assert sum(map(sum, results["model"]["confusion_matrix"])) == 4
    assert results["majority_accuracy"] == 0.5
    events = os.listdir(tmp_path / "run" / "tensorboard" / "eval")
    assert any(name.startswith("events.") for name in events)
    assert "| EncoderClassifier |" in apps.markdown(config, results, "cmd")


def test_tiny_translation_run_writes_results(tmp_path):
    translation_config(tmp_path, [f"{s}\t{t}" for s, t in PAIRS], ["the cat eats\tle chat mange"])
    command = [sys.executable, os.path.join(ROOT, "tools/app_experiments.py"),
               "--config=" + os.path.join(ROOT, "configs/seq2seq_translation.py"),
               f"--workdir={tmp_path / 'run'}", f"--results={tmp_path / 'seq2seq'}",
               f"--config.data.train_file={tmp_path / 'train.tsv'}",
               f"--config.data.test_file={tmp_path / 'test.tsv'}",
               "--config.tokenizer.kind=byte", "--config.training.steps=3",
               "--config.training.batch_size=8", "--config.model.hidden_dim=16",
               "--config.model.intermediate_dim=32", "--config.model.num_heads=2",
               "--config.evaluation.max_new_tokens=4", "--config.training.jit_compile=False"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "seq2seq.json").read_text())
    assert results["steps"] == 3 and results["test_pairs"] == 1
    for sampler in ("greedy", "beam"):  # the config decodes the test split both ways
        assert set(results[f"model_{sampler}"]) == {"bleu", "rougeL", "decode_seconds"}
        assert sampler in results["examples"][0]
    assert set(results["baseline_copy"]) == {"bleu", "rougeL"}
    assert results["test_token_loss"] is None  # 1 test pair: fewer than one batch
    assert results["test_token_nll"] is None and results["test_token_nll_shuffled_sources"] is None
    page = (tmp_path / "seq2seq.md").read_text()
    assert "| model_greedy |" in page and "| model_beam |" in page
    bad = subprocess.run(command[:6] + ["--config.data.test_file=/nonexistent.tsv"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "nonexistent.tsv" in bad.stderr
