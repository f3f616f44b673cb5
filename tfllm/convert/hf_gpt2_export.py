"""Export a GPT-2-shaped DecoderLM as a Hugging Face GPT-2 folder.

Writes config.json (GPT2LMHeadModel), model.safetensors (the names `save_pretrained`
writes: "transformer." prefix, the tied lm_head left out, Conv1D (in, out) weights) and,
for a gpt2_bpe tokenizer, vocab.json and merges.txt. `hf_gpt2.load` reads it back.
"""

import json
import os

import numpy as np

from tfllm import files
from tfllm.convert.hf_gpt2 import tensor_names

# The DecoderLM settings GPT-2 has; any other value cannot be written as GPT-2.
GPT2_SETTINGS = dict(activation="gelu_tanh", norm="layer_norm", position="learned",
                     tie_embeddings=True, use_bias=True, preference_dim=0)


def check_gpt2_shape(model):
    """ValueError naming the first DecoderLM setting GPT-2 cannot express."""
    from tfllm.models import DecoderLM

    if type(model) is not DecoderLM:
        raise ValueError(f"a {type(model).__name__} cannot be written as GPT-2: expected a "
                         f"DecoderLM")
    config = model.get_config()
    for field, value in GPT2_SETTINGS.items():
        if config[field] != value:
            raise ValueError(f"DecoderLM {field}={config[field]!r} cannot be written as "
                             f"GPT-2, which has {field}={value!r}")


def hf_config(model, tokenizer):
    """The Hugging Face GPT2Config (a dict) of `model`."""
    c = model.get_config()
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "vocab_size": c["vocabulary_size"], "n_positions": c["max_sequence_length"],
            "n_ctx": c["max_sequence_length"], "n_embd": c["hidden_dim"],
            "n_layer": c["num_layers"], "n_head": c["num_heads"],
            "n_inner": c["intermediate_dim"], "activation_function": "gelu_new",
            "layer_norm_epsilon": c["layer_norm_epsilon"], "resid_pdrop": c["dropout"],
            "embd_pdrop": c["dropout"], "attn_pdrop": c["dropout"],
            "initializer_range": 0.02, "scale_attn_weights": True, "use_cache": True,
            "tie_word_embeddings": True, "bos_token_id": tokenizer.bos_id,
            "eos_token_id": tokenizer.eos_id}


def hf_tensors(model):
    """{Hugging Face GPT2LMHeadModel tensor name: float32 array} of `model`'s weights."""
    variables = {v.path.split("/", 1)[1]: v for v in model.weights}
    names = tensor_names(model.num_layers)
    unused = sorted(set(variables) - {path for _, path in names}
                    - {p for p in variables if p.startswith("value_head/")})
    if unused:
        raise ValueError(f"DecoderLM weights GPT-2 has no place for: {unused[:3]}")
    return {f"transformer.{name}": np.ascontiguousarray(variables[path].numpy(), np.float32)
            for name, path in names}


def export(model, tokenizer, dst):
    """Writes `model` (and a gpt2_bpe `tokenizer`'s files) as the Hugging Face GPT-2 folder
    `dst`, which must not exist or be empty; built beside it and renamed into place.
    Returns the files written."""
    from safetensors.numpy import save_file

    check_gpt2_shape(model)
    tokenizer.check_model(model)
    tensors = hf_tensors(model)
    with files.new_directory(dst) as building:
        files.write_atomically(os.path.join(building, "config.json"),
                               json.dumps(hf_config(model, tokenizer), indent=2) + "\n")
        save_file(tensors, os.path.join(building, "model.safetensors"),
                  metadata={"format": "pt"})
        if tokenizer.kind == "gpt2_bpe":
            tokenizer.save_vocabulary(building)
        written = sorted(os.listdir(building))
    return written
