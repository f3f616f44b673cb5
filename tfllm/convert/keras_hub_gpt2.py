"""Import a keras-hub GPT2Backbone preset directory into a tfllm DecoderLM.

keras-hub keeps separate query/key/value kernels (hidden, heads, head_dim); tfllm's
fused `qkv` kernel is (hidden, 3 * hidden) in [q | k | v] order, each part laid out
(heads, head_dim) as MultiHeadAttention._split_heads reshapes it.
"""

import os

import keras
import numpy as np

from tfllm.convert.gpt2 import Tensors, assign, block_path, gpt2_decoder_lm


def load_backbone(src):
    """The keras_hub.models.GPT2Backbone saved in preset directory `src`."""
    import keras_hub

    if not os.path.isfile(os.path.join(src, "config.json")):
        raise ValueError(f"{src}: not a keras-hub preset directory (no config.json)")
    try:
        backbone = keras_hub.models.Backbone.from_preset(src)
    except (KeyError, TypeError) as error:
        raise ValueError(f"{src}: cannot load the keras-hub preset: {error}") from None
    if not isinstance(backbone, keras_hub.models.GPT2Backbone):
        raise ValueError(f"{src}: holds a {type(backbone).__name__}, expected a GPT2Backbone")
    return backbone


def convert_backbone(backbone, source="keras_hub_gpt2"):
    """A DecoderLM with the weights of `backbone` (same logits as hidden @ embeddings^T)."""
    d, h = backbone.hidden_dim, backbone.num_heads
    hd, inner = d // h, backbone.intermediate_dim
    tensors = Tensors({v.path: keras.ops.convert_to_numpy(v) for v in backbone.weights}, source)
    weights = {
        "token_embedding/embeddings": tensors.get(
            "token_embedding/embeddings", (backbone.vocabulary_size, d)),
        "decoder/position_embedding/embeddings": tensors.get(
            "position_embedding/embeddings", (backbone.max_sequence_length, d)),
        "decoder/final_norm/gamma": tensors.get("layer_norm/gamma", (d,)),
        "decoder/final_norm/beta": tensors.get("layer_norm/beta", (d,)),
    }
    for i in range(backbone.num_layers):
        src = f"transformer_layer_{i}"
        attention = f"{src}/self_attention"
        weights[block_path(i, "self_attention/qkv/kernel")] = np.concatenate(
            [tensors.get(f"{attention}/{part}/kernel", (d, h, hd)).reshape(d, d)
             for part in ("query", "key", "value")], axis=-1)
        weights[block_path(i, "self_attention/qkv/bias")] = np.concatenate(
            [tensors.get(f"{attention}/{part}/bias", (h, hd)).reshape(d)
             for part in ("query", "key", "value")])
        weights[block_path(i, "self_attention/output/kernel")] = tensors.get(
            f"{attention}/attention_output/kernel", (h, hd, d)).reshape(d, d)
        weights[block_path(i, "self_attention/output/bias")] = tensors.get(
            f"{attention}/attention_output/bias", (d,))
        for ours, theirs in (("self_attention_norm", "self_attention_layer_norm"),
                             ("feed_forward_norm", "feedforward_layer_norm")):
            for param in ("gamma", "beta"):
                weights[block_path(i, f"{ours}/{param}")] = tensors.get(
                    f"{src}/{theirs}/{param}", (d,))
        for ours, theirs, shape in (("inner", "intermediate", (d, inner)),
                                    ("output", "output", (inner, d))):
            weights[block_path(i, f"feed_forward/{ours}/kernel")] = tensors.get(
                f"{src}/feedforward_{theirs}_dense/kernel", shape)
            weights[block_path(i, f"feed_forward/{ours}/bias")] = tensors.get(
                f"{src}/feedforward_{theirs}_dense/bias", shape[1:])
    tensors.check_all_used()
    model = gpt2_decoder_lm(backbone.vocabulary_size, backbone.num_layers, h, d, inner,
                            backbone.max_sequence_length)
    return assign(model, weights)


def load(src):
    """A DecoderLM converted from the keras-hub GPT-2 preset directory `src`."""
    return convert_backbone(load_backbone(src), source=src)
