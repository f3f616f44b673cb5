"""GPT-2 import: keras-hub preset and HF safetensors give the same logits as keras-hub."""

import json
import os
import subprocess
import sys

import keras
import keras_hub
import numpy as np
import pytest
from safetensors.numpy import save_file

from tfllm.convert import import_checkpoint
from tfllm.models import DecoderLM

SIZES = dict(vocabulary_size=61, num_layers=2, num_heads=2, hidden_dim=16,
             intermediate_dim=40, max_sequence_length=24)
TOKENS = np.random.default_rng(0).integers(0, 61, (2, 11)).astype("int32")


@pytest.fixture(scope="module")
def backbone():
    keras.utils.set_random_seed(1)
    model = keras_hub.models.GPT2Backbone(**SIZES)
    # Random non-trivial norms and biases, so a swapped tensor cannot go unnoticed.
    rng = np.random.default_rng(2)
    for v in model.weights:
        v.assign(rng.normal(0.0, 0.3, v.shape).astype("float32"))
    return model


def reference_logits(backbone):
    hidden = backbone({"token_ids": TOKENS, "padding_mask": np.ones_like(TOKENS)})
    table = keras.ops.convert_to_numpy(backbone.token_embedding.embeddings)
    return keras.ops.convert_to_numpy(hidden) @ table.T


def hf_tensors(backbone):
    """HF GPT2LMHeadModel-named tensors built from the keras-hub weights."""
    d = SIZES["hidden_dim"]
    w = {v.path: keras.ops.convert_to_numpy(v) for v in backbone.weights}
    out = {"transformer.wte.weight": w["token_embedding/embeddings"],
           "transformer.wpe.weight": w["position_embedding/embeddings"],
           "transformer.ln_f.weight": w["layer_norm/gamma"],
           "transformer.ln_f.bias": w["layer_norm/beta"],
           "lm_head.weight": w["token_embedding/embeddings"]}
    for i in range(SIZES["num_layers"]):
        k, h = f"transformer_layer_{i}", f"transformer.h.{i}"
        att = f"{k}/self_attention"
        out[f"{h}.attn.c_attn.weight"] = np.concatenate(
            [w[f"{att}/{p}/kernel"].reshape(d, d) for p in ("query", "key", "value")], 1)
        out[f"{h}.attn.c_attn.bias"] = np.concatenate(
            [w[f"{att}/{p}/bias"].reshape(d) for p in ("query", "key", "value")])
        out[f"{h}.attn.c_proj.weight"] = w[f"{att}/attention_output/kernel"].reshape(d, d)
        out[f"{h}.attn.c_proj.bias"] = w[f"{att}/attention_output/bias"]
        out[f"{h}.attn.bias"] = np.tril(np.ones((1, 1, 24, 24), "float32"))  # HF buffer
        for ln, norm in (("ln_1", "self_attention_layer_norm"), ("ln_2", "feedforward_layer_norm")):
            out[f"{h}.{ln}.weight"] = w[f"{k}/{norm}/gamma"]
            out[f"{h}.{ln}.bias"] = w[f"{k}/{norm}/beta"]
        for fc, dense in (("c_fc", "intermediate"), ("c_proj", "output")):
            out[f"{h}.mlp.{fc}.weight"] = w[f"{k}/feedforward_{dense}_dense/kernel"]
            out[f"{h}.mlp.{fc}.bias"] = w[f"{k}/feedforward_{dense}_dense/bias"]
    return {name: np.ascontiguousarray(a, "float32") for name, a in out.items()}


def write_hf(directory, tensors):
    os.makedirs(directory, exist_ok=True)
    save_file(tensors, os.path.join(directory, "model.safetensors"))
    config = dict(model_type="gpt2", vocab_size=SIZES["vocabulary_size"],
                  n_layer=SIZES["num_layers"], n_head=SIZES["num_heads"],
                  n_embd=SIZES["hidden_dim"], n_inner=SIZES["intermediate_dim"],
                  n_positions=SIZES["max_sequence_length"], activation_function="gelu_new",
                  layer_norm_epsilon=1e-5)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    return str(directory)


def tfllm_logits(model):
    return keras.ops.convert_to_numpy(model(TOKENS))


def test_keras_hub_preset_same_logits(backbone, tmp_path):
    backbone.save_to_preset(str(tmp_path))
    model = import_checkpoint("keras_hub_gpt2", str(tmp_path))
    assert isinstance(model, DecoderLM) and model.activation == "gelu_tanh"
    diff = np.abs(tfllm_logits(model) - reference_logits(backbone)).max()
    assert diff <= 1e-4, diff


def test_hf_safetensors_same_logits(backbone, tmp_path):
    model = import_checkpoint("hf_gpt2", write_hf(tmp_path, hf_tensors(backbone)))
    diff = np.abs(tfllm_logits(model) - reference_logits(backbone)).max()
    assert diff <= 1e-4, diff


def test_hf_wrong_shape_names_tensor_and_shapes(backbone, tmp_path):
    tensors = hf_tensors(backbone)
    tensors["transformer.h.1.mlp.c_fc.weight"] = np.zeros((16, 39), "float32")
    with pytest.raises(ValueError, match=r"'h\.1\.mlp\.c_fc\.weight' has shape \(16, 39\), "
                                         r"expected \(16, 40\)"):
        import_checkpoint("hf_gpt2", write_hf(tmp_path, tensors))


def test_hf_missing_and_foreign_tensors(backbone, tmp_path):
    tensors = hf_tensors(backbone)
    del tensors["transformer.ln_f.bias"]
    with pytest.raises(ValueError, match="'ln_f.bias' is missing"):
        import_checkpoint("hf_gpt2", write_hf(tmp_path / "a", tensors))
    tensors = {**hf_tensors(backbone), "transformer.h.0.extra.weight": np.zeros(3, "float32")}
    with pytest.raises(ValueError, match="not used by GPT-2"):
        import_checkpoint("hf_gpt2", write_hf(tmp_path / "b", tensors))


def test_unknown_format_and_missing_dir(tmp_path):
    with pytest.raises(ValueError, match="unknown checkpoint format"):
        import_checkpoint("llama", str(tmp_path))
    with pytest.raises(ValueError, match="no config.json"):
        import_checkpoint("keras_hub_gpt2", str(tmp_path))
    with pytest.raises(ValueError, match="cannot read the config"):
        import_checkpoint("hf_gpt2", str(tmp_path))


def test_cli_writes_loadable_keras_file_and_reports_errors(backbone, tmp_path):
    src = write_hf(tmp_path / "hf", hf_tensors(backbone))
    dst = tmp_path / "out" / "gpt2.keras"
    cli = [sys.executable, "-m", "tfllm.bin.import_checkpoint", "--from=hf_gpt2", f"--src={src}"]
    done = subprocess.run(cli + [f"--dst={dst}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = keras.saving.load_model(str(dst))
    diff = np.abs(tfllm_logits(loaded) - reference_logits(backbone)).max()
    assert diff <= 1e-4, diff
    bad = subprocess.run(cli[:-1] + [f"--src={tmp_path}", f"--dst={tmp_path / 'x.keras'}"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "tfllm-import:" in bad.stderr
    assert not (tmp_path / "x.keras").exists()


@pytest.mark.parametrize("change,message", [
    ({"n_embd": None}, r"field 'n_embd' must be a positive integer, got None"),
    ({"n_head": 0}, r"field 'n_head' must be a positive integer, got 0"),
    ({"n_layer": 2.5}, r"field 'n_layer' must be a positive integer, got 2.5"),
    ({"vocab_size": None, "drop": "vocab_size"}, r"missing field 'vocab_size'"),
])
def test_hf_bad_config_fields_are_named(backbone, tmp_path, change, message):
    src = write_hf(tmp_path, hf_tensors(backbone))
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    drop = change.pop("drop", None)
    config.update(change)
    config.pop(drop, None)
    with open(os.path.join(src, "config.json"), "w") as f:
        json.dump(config, f)
    with pytest.raises(ValueError, match=r"config.json: " + message):
        import_checkpoint("hf_gpt2", src)
    with open(os.path.join(src, "config.json"), "w") as f:
        json.dump([config], f)
    with pytest.raises(ValueError, match=r"config.json: expected a JSON object, got a list"):
        import_checkpoint("hf_gpt2", src)


def test_hf_nan_weights_and_a_directory_destination(backbone, tmp_path):
    tensors = hf_tensors(backbone)
    tensors["transformer.h.0.mlp.c_fc.bias"][3] = np.nan
    with pytest.raises(ValueError, match=r"block_0/feed_forward/inner/bias holds NaN"):
        import_checkpoint("hf_gpt2", write_hf(tmp_path / "nan", tensors))
    from tfllm.bin.import_checkpoint import convert

    target = tmp_path / "taken.keras"
    target.mkdir()
    with pytest.raises(ValueError, match=r"is a directory; give a file path ending in .keras"):
        convert("hf_gpt2", write_hf(tmp_path / "ok", hf_tensors(backbone)), str(target))
    assert sorted(os.listdir(tmp_path)) == ["nan", "ok", "taken.keras"]
