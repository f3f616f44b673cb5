"""The binaries' modes behind tools/app_experiments.py: tfllm-finetune's "scored_text" data
kind (batches by hand) with tfllm-evaluate's preference_vector mode, and tfllm-evaluate's
seq2seq mode (tfllm.evaluation.seq2seq) on a tfllm-finetune workdir."""

import json
import os

import numpy as np
import pytest

from tests.bin.binaries import FLAGS, PAIRS_TSV, QUIET, ROOT, SEQ2SEQ, call, parse
from tfllm import experiment
from tfllm.bin import evaluate, finetune

PREFERENCE = os.path.join(ROOT, "configs", "preference_vector_sentiment.py")
ROWS = [("good day", 0.5), ("bad", -0.25), ("a cat sat", 0.0), ("very nice", 1.0)] * 2
TINY_LM = ["--config.tokenizer.kind=byte", "--config.model.num_layers=1",
           "--config.model.hidden_dim=16", "--config.model.intermediate_dim=32",
           "--config.model.num_heads=2", "--config.data.sequence_length=8",
           "--config.training.batch_size=4", "--config.training.jit_compile=False"]


def write_rows(path, rows):
    path.write_text("".join(json.dumps({"text": t, "score": s}) + "\n" for t, s in rows))
    return str(path)


def test_scored_text_batches_are_one_text_per_row(tmp_path):
    path = write_rows(tmp_path / "rows.jsonl", ROWS)
    parse(f"--config={PREFERENCE}", f"--workdir={tmp_path / 'w'}", *TINY_LM)
    config = FLAGS.config
    tokenizer, train, held_out = experiment.finetune_datasets(config, str(tmp_path / "w"), path)
    assert held_out is None
    # By hand: <bos> text <eos> cut to sequence_length + 1 = 9 bytes, zero-padded.
    ids = np.zeros((len(ROWS), 9), np.int32)
    for i, (text, _) in enumerate(ROWS):
        row = ([1] + list(tokenizer.encode(text)) + [2])[:9]
        ids[i, :len(row)] = row
    assert list(ids[2]) == [1] + [tokenizer.encode(c)[0] for c in "a cat s"] + [
        tokenizer.encode("a")[0]]  # "a cat sat" cut: no <eos>
    in_order = next(iter(experiment.scored_text_dataset(config, tokenizer, path, False)
                         .unbatch().batch(len(ROWS))))  # its 2 batches, in file order
    np.testing.assert_array_equal(in_order["token_ids"], ids[:, :-1])
    np.testing.assert_array_equal(in_order["labels"], ids[:, 1:])
    np.testing.assert_array_equal(in_order["padding_mask"], ids[:, :-1] != 0)
    np.testing.assert_array_equal(in_order["loss_mask"], (ids[:, 1:] != 0).astype(np.float32))
    np.testing.assert_array_equal(in_order["preference"], [[s] for _, s in ROWS])
    # Training: batch_size rows of the same, shuffled over the whole set (every row once
    # per pass), the same order on every build.
    first = [b for _, b in zip(range(2), train)]  # one pass
    seen = [(tuple(r), float(p[0])) for b in first
            for r, p in zip(b["token_ids"].numpy().tolist(), b["preference"].numpy())]
    expected = [(tuple(r), s) for r, (_, s) in zip(ids[:, :-1].tolist(), ROWS)]
    assert sorted(seen) == sorted(expected) and seen != expected  # shuffled
    again = experiment.scored_text_dataset(config, tokenizer, path, True)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["token_ids"], b["token_ids"])


def test_scored_text_bad_rows_name_the_line(tmp_path):
    from tfllm.data.scored_text import read_scored_texts

    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a", "score": 1}\n{"text": "b", "score": "high"}\n')
    with pytest.raises(ValueError, match=r"rows\.jsonl:2: field 'score' is 'high', expected"):
        read_scored_texts(str(path))
    path.write_text('{"text": "a"}\n')
    with pytest.raises(ValueError, match=r"rows\.jsonl:1: missing field 'score'"):
        read_scored_texts(str(path))


def test_preference_vector_finetune_then_evaluate(tmp_path, capsys):
    from tfllm.evaluation import preference_vector

    path = write_rows(tmp_path / "rows.jsonl", ROWS)
    workdir = str(tmp_path / "pv")
    call(finetune.main, f"--config={PREFERENCE}", f"--workdir={workdir}",
         f"--train_file={path}", "--config.training.steps=2", *TINY_LM, *QUIET)
    assert "step 2 (completed)" in capsys.readouterr().out
    saved = json.load(open(os.path.join(workdir, "config.json")))
    assert saved["data"]["kind"] == "scored_text" and saved["data"]["train_file"] == path
    call(evaluate.main, f"--workdir={workdir}", f"--config={PREFERENCE}", *TINY_LM,
         "--config.evaluation.batch_size=3", "--config.evaluation.num_batches=2",
         "--config.evaluation.max_new_tokens=4")
    metrics = json.load(open(os.path.join(workdir, "eval", "metrics.json")))
    assert set(metrics["generations"]) == {"+1", "-1"}
    for value, m in metrics["generations"].items():
        assert m["samples"] == 6 and len(m["examples"]) == 3
        assert -1.0 <= m["mean_sentiment"] <= 1.0
        assert 0.0 <= m["fraction_positive"] + m["fraction_negative"] <= 1.0
        assert metrics[f"{value}/mean_sentiment"] == m["mean_sentiment"]
    # The seeds make the samples reproducible.
    model, tokenizer = experiment.load_model_and_tokenizer(workdir)
    texts = preference_vector.sample(model, tokenizer, 1.0, FLAGS.config)
    assert texts[:3] == metrics["generations"]["+1"]["examples"]
    with pytest.raises(ValueError, match="needs a DecoderLM with preference_dim=1"):
        preference_vector.evaluate(FLAGS.config, object(), tokenizer)


def test_seq2seq_evaluate_on_a_finetune_workdir(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(PAIRS_TSV)
    workdir = str(tmp_path / "s2s")
    # evaluation.max_examples=3 < one batch (4): no teacher-forced evaluation in training,
    # as tfllm-evaluate reads the same 3 pairs
    call(finetune.main, f"--config={SEQ2SEQ}", f"--workdir={workdir}",
         f"--train_file={pairs}", f"--eval_file={pairs}", "--config.training.steps=2",
         "--config.evaluation.max_examples=3", *QUIET)
    out = capsys.readouterr().out
    assert "step 2 (completed)" in out and "eval/loss" not in out
    call(evaluate.main, f"--workdir={workdir}", f"--config={SEQ2SEQ}",
         f"--config.data.test_file={pairs}", "--config.evaluation.max_new_tokens=4")
    metrics = json.load(open(os.path.join(workdir, "eval", "metrics.json")))
    assert metrics["examples"] == 8  # seq2seq_small: sampler "greedy", baseline "copy"
    assert metrics["bleu"] == metrics["greedy/bleu"] and "beam/bleu" not in metrics
    assert set(metrics) >= {"rougeL", "baseline_copy/bleu", "baseline_copy/rougeL"}
    assert metrics["token_nll"] > 0.0 and metrics["token_nll_shuffled_sources"] > 0.0
    assert metrics["samples"][0]["source"] == "cat"
    assert metrics["samples"][0]["baseline"] == "cat"
    call(evaluate.main, f"--workdir={workdir}", f"--config={SEQ2SEQ}",
         f"--config.data.test_file={pairs}", "--config.evaluation.sampler=beam",
         "--config.evaluation.max_new_tokens=4")
    beam = json.load(open(os.path.join(workdir, "eval", "metrics.json")))
    assert "beam/bleu" in beam and beam["bleu"] == beam["beam/bleu"]
    with pytest.raises(ValueError, match=r"config\.evaluation\.sampler='top_k'"):
        call(evaluate.main, f"--workdir={workdir}", f"--config={SEQ2SEQ}",
             f"--config.data.test_file={pairs}", "--config.evaluation.sampler=top_k")
