"""Export: a SavedModel a bare TensorFlow process serves with the same text as tfllm."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.generation import generate
from tfllm.models import DecoderLM, Seq2SeqTransformer
from tfllm.serving import export
from tfllm.tokenizers import Tokenizer

PROMPTS = ["the cat sat", "a dog ran far away from the", ""]
MAX_NEW = 8
WORDS = "the a cat dog sat ran on mat far away from house big small red blue".split()
SERVE = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the sentencepiece ops)
loaded = tf.saved_model.load(sys.argv[1])
prompts = tf.constant(json.loads(sys.argv[2]))
default = loaded.signatures["serving_default"](prompt=prompts)["text"]
settings = dict(max_new_tokens=tf.constant(4), temperature=tf.constant(1.0),
                top_k=tf.constant(1), top_p=tf.constant(1.0), seed=tf.constant(5))
top1 = loaded.signatures["generate"](prompt=prompts, **settings)["text"]
settings.update(top_k=tf.constant(0), top_p=tf.constant(0.9))
sampled = [loaded.signatures["generate"](prompt=prompts, **settings)["text"] for _ in range(2)]
errors = {}
for name, bad in (("int32", tf.constant([1, 2])), ("float", tf.constant([1.5])),
                  ("scalar", tf.constant("the cat")), ("2-D", tf.constant([["the cat"]]))):
    try:
        loaded.signatures["serving_default"](prompt=bad)
        errors[name] = ""
    except Exception as e:
        errors[name] = f"{type(e).__name__}: {e}"
print(json.dumps({"default": [t.decode() for t in default.numpy()],
                  "top1": [t.decode() for t in top1.numpy()],
                  "sampled": [[t.decode() for t in s.numpy()] for s in sampled],
                  "errors": errors, "tfllm": "tfllm" in sys.modules}))
"""


def corpus():
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, 8)) + "." for _ in range(300)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny random DecoderLM exported through the tfllm-export CLI."""
    root = tmp_path_factory.mktemp("export")
    tokenizer = Tokenizer.train(corpus(), 300, kind="sentencepiece")
    tokenizer.save(str(root / "tokenizer"))
    keras.utils.set_random_seed(0)
    model = DecoderLM(tokenizer.vocabulary_size, 1, 2, 16, 32, 24)
    model.save(str(root / "lm.keras"))
    done = subprocess.run(
        [sys.executable, "-m", "tfllm.bin.export", f"--workdir={root}",
         f"--model={root / 'lm.keras'}", f"--output={root / 'export'}",
         f"--max_new_tokens={MAX_NEW}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # no native log lines (cuInit, sentencepiece's)
    return model, tokenizer, root / "export"


def reference(model, tokenizer, prompts, max_new_tokens, seq2seq=False):
    """In-memory greedy generation with the serving settings, decoded by the tokenizer."""
    bos = [] if seq2seq else [tokenizer.bos_id]
    ids = [bos + tokenizer.encode(p) for p in prompts]
    banned = [i for i in range(tokenizer.num_reserved_ids) if i != tokenizer.eos_id]
    out = generate(model, ids, max_new_tokens, stop_token_ids=[tokenizer.eos_id],
                   banned_token_ids=banned)
    return [tokenizer.decode(row if seq2seq else row[len(p):]) for row, p in zip(out, ids)]


def test_fresh_tensorflow_process_serves_the_same_text(run):
    model, tokenizer, directory = run
    done = subprocess.run([sys.executable, "-c", SERVE, str(directory / "saved_model"),
                           json.dumps(PROMPTS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    served = json.loads(done.stdout.strip().splitlines()[-1])
    assert not served["tfllm"]
    expected = reference(model, tokenizer, PROMPTS, MAX_NEW)
    assert served["default"] == expected and any(expected)
    assert served["top1"] == reference(model, tokenizer, PROMPTS, 4)  # top-1 sampling = greedy
    assert served["sampled"][0] == served["sampled"][1]  # same seed, same text
    errors = served["errors"]
    # The signature rejects a non-string dtype before the graph runs (TensorFlow's check).
    for dtype in ("int32", "float"):
        assert f"expected to be a string tensor but is a {dtype} tensor" in errors[dtype]
    # The graph rejects any rank but 1 before tokenizing (checked_prompt's EnsureShape).
    for name, shape in (("scalar", "[]"), ("2-D", "[1,1]")):
        assert errors[name].startswith("InvalidArgumentError"), errors[name]
        assert f"Shape of tensor prompt {shape} is not compatible with expected shape [?]" \
            in errors[name] and "prompt_must_be_1d" in errors[name], errors[name]
        assert "StringSplit" not in errors[name]


def test_saved_model_cli_lists_the_signature(run):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(cli):
        pytest.skip("saved_model_cli is not installed beside this Python")
    done = subprocess.run([cli, "show", "--dir", str(run[2] / "saved_model"), "--tag_set",
                           "serve", "--signature_def", "serving_default"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "inputs['prompt']" in done.stdout and "outputs['text']" in done.stdout
    assert done.stdout.count("dtype: DT_STRING") == 2


def test_keras_file_and_tokenizer_round_trip(run):
    model, tokenizer, directory = run
    loaded = keras.saving.load_model(str(directory / "model.keras"))
    ids = np.array([tokenizer.encode("the big cat")], "int32")
    np.testing.assert_allclose(loaded(ids), model(ids), atol=1e-6)
    assert Tokenizer.load(str(directory / "tokenizer")).encode("red mat") == \
        tokenizer.encode("red mat")


def test_seq2seq_export_matches_generate(run, tmp_path):
    tokenizer = run[1]
    keras.utils.set_random_seed(1)
    model = Seq2SeqTransformer(tokenizer.vocabulary_size, 1, 1, 2, 16, 32, 16)
    export(model, tokenizer, str(tmp_path / "s2s"), max_new_tokens=6)
    served = tf.saved_model.load(str(tmp_path / "s2s" / "saved_model")).signatures[
        "serving_default"](prompt=tf.constant(PROMPTS[:2]))["text"].numpy()
    assert [t.decode() for t in served] == reference(model, tokenizer, PROMPTS[:2], 6, True)


def test_bad_export_settings(run, tmp_path):
    model, tokenizer, _ = run
    with pytest.raises(ValueError, match="top_p must be in"):
        export(model, tokenizer, str(tmp_path / "a"), top_p=0.0)
    with pytest.raises(ValueError, match="unknown generation settings"):
        export(model, tokenizer, str(tmp_path / "b"), beams=2)
    with pytest.raises(ValueError, match="preference_dim=1: pass preference"):
        export(DecoderLM(tokenizer.vocabulary_size, 1, 2, 16, 32, 24, preference_dim=1),
               tokenizer, str(tmp_path / "c"))
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "a.partial")
    (tmp_path / "file").write_text("keep me")
    with pytest.raises(ValueError, match="file: exists and is not a directory"):
        export(model, tokenizer, str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "keep me"
    assert not os.path.exists(tmp_path / "file.partial")
