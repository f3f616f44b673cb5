"""A Hugging Face GPT-2 folder as a tfllm workdir (model + byte-level BPE tokenizer) and back."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from tests.convert.gpt2_files import TEXTS, numpy_gpt2_logits, write_hf_gpt2
from tfllm.convert import import_checkpoint
from tfllm.convert.hf_gpt2_export import export
from tfllm.convert.workdir import import_workdir
from tfllm.experiment import load_model_and_tokenizer

BIN = os.path.dirname(sys.executable)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hf_gpt2")
    return str(directory), write_hf_gpt2(str(directory))


@pytest.fixture(scope="module")
def workdir(hf_dir, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("runs") / "gpt2")
    import_workdir("hf_gpt2", hf_dir[0], path)
    return path


def library_ids(src, texts):
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer(os.path.join(src, "vocab.json"), os.path.join(src, "merges.txt"))
    return [bpe.encode(text).ids for text in texts]


def test_workdir_has_gpt2_logits_and_tokenization(hf_dir, workdir):
    src, tensors = hf_dir
    assert sorted(os.listdir(workdir)) == ["checkpoints", "config.json", "model.json",
                                           "tokenizer"]
    model, tokenizer = load_model_and_tokenizer(workdir)
    assert tokenizer.kind == "gpt2_bpe" and tokenizer.eos_id == tokenizer.vocabulary_size - 1
    ids = tokenizer.encode(TEXTS)
    assert ids == library_ids(src, TEXTS)
    width = min(len(row) for row in ids)
    batch = np.array([row[:width] for row in ids], "int32")
    expected = numpy_gpt2_logits(tensors, batch)
    np.testing.assert_allclose(np.asarray(model(batch)), expected, atol=1e-4)


def test_generate_returns_three_distinct_samples_per_prompt(workdir):
    done = subprocess.run(
        [os.path.join(BIN, "tfllm-generate"), f"--workdir={workdir}", "--prompt=def add",
         "--prompt=The quick", "--sampler=top_p", "--top_p=1.0", "--temperature=1.0",
         "--max_new_tokens=12", "--num_return_sequences=3"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    samples = re.split(r"^--- sample (\d\.\d)\n", done.stdout, flags=re.M)[1:]
    names, texts = samples[::2], [t.rstrip("\n") for t in samples[1::2]]
    assert names == ["0.0", "0.1", "0.2", "1.0", "1.1", "1.2"], done.stdout
    for prompt, group in (("def add", texts[:3]), ("The quick", texts[3:])):
        assert all(text.startswith(prompt) for text in group), group
        assert len(set(group)) == 3, group


def test_chat_finetune_starts_from_the_workdir(workdir, tmp_path, capsys):
    from tests.bin.binaries import FLAGS, QUIET, call, parse
    from tfllm import experiment
    from tfllm.bin import common, finetune

    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"What is {i} + 1?", "response": f"{i + 1}"})
                            + "\n" for i in range(8)))
    run = str(tmp_path / "sft")
    args = [f"--config={ROOT}/configs/chat_sft.py", f"--workdir={run}",
            f"--init_workdir={workdir}", f"--train_file={data}", "--config.training.steps=2",
            "--config.data.sequence_length=32", "--config.training.batch_size=4", *QUIET]
    parse(*args)
    tokenizer, train, _ = experiment.finetune_datasets(FLAGS.config, run, str(data),
                                                       init_workdir=workdir)
    batch = {k: v.numpy() for k, v in next(iter(train)).items()}
    for labels, mask in zip(batch["labels"], batch["loss_mask"]):
        response = labels[mask == 1].tolist()
        assert response[-1] == tokenizer.eos_id
        assert re.fullmatch(r"\d+", tokenizer.decode(response)), tokenizer.decode(response)
    call(finetune.main, *args)
    assert "step 2 (completed)" in capsys.readouterr().out
    assert common.checkpoint_step(run) == 2
    model, tuned = load_model_and_tokenizer(run)
    assert tuned.kind == "gpt2_bpe" and tuned.encode(TEXTS) == tokenizer.encode(TEXTS)


def test_export_round_trip_same_tensors_and_logits(hf_dir, workdir, tmp_path):
    src, tensors = hf_dir
    model, tokenizer = load_model_and_tokenizer(workdir)
    written = export(model, tokenizer, str(tmp_path / "hf"))
    assert written == ["config.json", "merges.txt", "model.safetensors", "vocab.json"]
    exported = load_file(str(tmp_path / "hf" / "model.safetensors"))
    assert {n: a.shape for n, a in exported.items()} == {n: a.shape for n, a in tensors.items()}
    for name in tensors:
        np.testing.assert_array_equal(exported[name], tensors[name], err_msg=name)
    for name in ("vocab.json", "merges.txt"):
        with open(os.path.join(src, name), encoding="utf-8") as a, \
                open(tmp_path / "hf" / name, encoding="utf-8") as b:
            if name == "vocab.json":
                assert json.load(a) == json.load(b)
            else:
                assert a.read().split("\n")[1:] == b.read().split("\n")[1:]
    again = import_checkpoint("hf_gpt2", str(tmp_path / "hf"))
    batch = np.array([tokenizer.encode(TEXTS[0])], "int32")
    np.testing.assert_allclose(np.asarray(again(batch)), np.asarray(model(batch)), atol=1e-5)


def test_export_cli_writes_hf_folder(workdir, tmp_path):
    output = tmp_path / "exported"
    done = subprocess.run([os.path.join(BIN, "tfllm-export"), f"--workdir={workdir}",
                           "--to=hf_gpt2", f"--output={output}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(output)) == ["config.json", "merges.txt", "model.safetensors",
                                          "vocab.json"]
    with open(output / "config.json") as f:
        config = json.load(f)
    assert config["architectures"] == ["GPT2LMHeadModel"] and config["n_layer"] == 2


@pytest.mark.parametrize("change,field", [(dict(activation="swiglu"), "activation"),
                                          (dict(position="rotary"), "position"),
                                          (dict(norm="rms_norm"), "norm"),
                                          (dict(tie_embeddings=False), "tie_embeddings")])
def test_export_names_the_field_gpt2_cannot_express(workdir, tmp_path, change, field):
    from tfllm.models import DecoderLM

    _, tokenizer = load_model_and_tokenizer(workdir)
    settings = {**dict(activation="gelu_tanh", norm="layer_norm", position="learned",
                       tie_embeddings=True), **change}
    model = DecoderLM(tokenizer.vocabulary_size, 1, 2, 16, 32, 32, **settings)
    with pytest.raises(ValueError, match=rf"DecoderLM {field}=.* cannot be written as GPT-2"):
        export(model, tokenizer, str(tmp_path / "hf"))
    assert os.listdir(tmp_path) == []


def test_export_leaves_out_a_value_head(workdir, tmp_path):
    from tfllm.models import DecoderLM

    model, tokenizer = load_model_and_tokenizer(workdir)
    policy = DecoderLM.from_config({**model.get_config(), "value_head": True})
    policy(np.zeros((1, 2), "int32"))
    weights = {v.path.split("/", 1)[1]: v for v in model.weights}
    for variable in policy.weights:
        path = variable.path.split("/", 1)[1]
        if not path.startswith("value_head/"):
            variable.assign(weights[path])
    export(model, tokenizer, str(tmp_path / "lm"))
    export(policy, tokenizer, str(tmp_path / "policy"))
    lm, exported = (load_file(str(tmp_path / name / "model.safetensors"))
                    for name in ("lm", "policy"))
    assert sorted(exported) == sorted(lm)
    for name in lm:
        np.testing.assert_array_equal(exported[name], lm[name], err_msg=name)


def copy_hf(src, dst, skip=()):
    os.makedirs(dst)
    for name in os.listdir(src):
        if name not in skip:
            with open(os.path.join(src, name), "rb") as a, open(os.path.join(dst, name), "wb") as b:
                b.write(a.read())
    return str(dst)


def test_import_cli_missing_merges_is_one_line_and_writes_nothing(hf_dir, tmp_path):
    src = copy_hf(hf_dir[0], tmp_path / "hf", skip=("merges.txt",))
    target = tmp_path / "runs" / "gpt2"
    done = subprocess.run([os.path.join(BIN, "tfllm-import"), "--from=hf_gpt2", f"--src={src}",
                           f"--workdir={target}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("tfllm-import:")]
    assert lines == [f"tfllm-import: {src}/merges.txt: missing; a workdir needs the tokenizer "
                     f"(or write the model alone with --dst=FILE.keras)"], done.stderr
    assert not (tmp_path / "runs").exists()


def test_bad_vocabulary_and_a_taken_workdir_leave_nothing(hf_dir, tmp_path):
    src = copy_hf(hf_dir[0], tmp_path / "hf")
    with open(os.path.join(src, "vocab.json"), "w") as f:
        f.write("{not json")
    runs = tmp_path / "runs"
    with pytest.raises(ValueError, match=rf"^{re.escape(src)}/vocab.json: not valid JSON"):
        import_workdir("hf_gpt2", src, str(runs / "gpt2"))
    assert not runs.exists()
    (runs / "taken").mkdir(parents=True)
    (runs / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="exists and is not an empty directory"):
        import_workdir("hf_gpt2", hf_dir[0], str(runs / "taken"))
    assert sorted(os.listdir(runs)) == ["taken"]
    assert os.listdir(runs / "taken") == ["notes.txt"]


def test_keras_hub_preset_with_tokenizer_as_workdir(hf_dir, tmp_path):
    import keras
    import keras_hub

    src, _ = hf_dir
    keras.utils.set_random_seed(3)
    with open(os.path.join(src, "vocab.json"), encoding="utf-8") as f:
        vocabulary = json.load(f)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=len(vocabulary), num_layers=1, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=32)
    preset = str(tmp_path / "preset")
    backbone.save_to_preset(preset)
    with pytest.raises(ValueError, match=r"assets/tokenizer/vocabulary.json: missing"):
        import_workdir("keras_hub_gpt2", preset, str(tmp_path / "no_tokenizer"))
    keras_hub.tokenizers.GPT2Tokenizer(
        vocabulary=os.path.join(src, "vocab.json"),
        merges=os.path.join(src, "merges.txt")).save_to_preset(preset)
    import_workdir("keras_hub_gpt2", preset, str(tmp_path / "gpt2"))
    model, tokenizer = load_model_and_tokenizer(str(tmp_path / "gpt2"))
    assert tokenizer.encode(TEXTS) == library_ids(src, TEXTS)
    batch = np.array([tokenizer.encode(TEXTS[1])], "int32")
    hidden = backbone({"token_ids": batch, "padding_mask": np.ones_like(batch)})
    expected = np.asarray(hidden) @ np.asarray(backbone.token_embedding.embeddings).T
    np.testing.assert_allclose(np.asarray(model(batch)), expected, atol=1e-4)
