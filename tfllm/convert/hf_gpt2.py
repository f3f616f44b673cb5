"""Import a Hugging Face GPT-2 checkpoint (config.json + model.safetensors) into a DecoderLM.

HF GPT-2 uses Conv1D layers whose weights are (in, out) like Keras Dense kernels, and
its fused `c_attn` is already [q | k | v] with (heads, head_dim) inside each part, so
tensors map one to one. Both GPT2Model ("h.0...") and GPT2LMHeadModel
("transformer.h.0...", tied "lm_head.weight") names are accepted; sharded checkpoints
(model.safetensors.index.json) too.
"""

import json
import os

import numpy as np

from tfllm.convert.gpt2 import Tensors, assign, block_path, gpt2_decoder_lm

TANH_GELUS = ("gelu_new", "gelu_pytorch_tanh")
BUFFER_SUFFIXES = (".attn.bias", ".attn.masked_bias")
# Each block's layers: (Hugging Face name below h.<i>., tfllm name below block_<i>/).
BLOCK_LAYERS = (("ln_1", "self_attention_norm"), ("ln_2", "feed_forward_norm"),
                ("attn.c_attn", "self_attention/qkv"), ("attn.c_proj", "self_attention/output"),
                ("mlp.c_fc", "feed_forward/inner"), ("mlp.c_proj", "feed_forward/output"))
NORMS = ("ln_1", "ln_2")


def tensor_names(num_layers):
    """[(Hugging Face GPT-2 tensor name, tfllm variable path)] of every weight; the
    Conv1D weights and tfllm's Dense kernels share the (in, out) layout."""
    names = [("wte.weight", "token_embedding/embeddings"),
             ("wpe.weight", "decoder/position_embedding/embeddings"),
             ("ln_f.weight", "decoder/final_norm/gamma"), ("ln_f.bias", "decoder/final_norm/beta")]
    for i in range(num_layers):
        for theirs, ours in BLOCK_LAYERS:
            weight, bias = ("gamma", "beta") if theirs in NORMS else ("kernel", "bias")
            names += [(f"h.{i}.{theirs}.weight", block_path(i, f"{ours}/{weight}")),
                      (f"h.{i}.{theirs}.bias", block_path(i, f"{ours}/{bias}"))]
    return names


def read_config(src):
    """The GPT-2 sizes of config.json in `src`, as gpt2_decoder_lm keyword arguments."""
    path = os.path.join(src, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except OSError as error:
        raise ValueError(f"{path}: cannot read the config: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object, got a {type(config).__name__}")
    if config.get("model_type", "gpt2") != "gpt2":
        raise ValueError(f"{path}: model_type {config['model_type']!r}, expected 'gpt2'")
    activation = config.get("activation_function", "gelu_new")
    if activation not in TANH_GELUS:
        raise ValueError(f"{path}: activation_function {activation!r} is not supported; "
                         f"expected one of {TANH_GELUS}")
    for flag in ("scale_attn_by_inverse_layer_idx", "add_cross_attention"):
        if config.get(flag):
            raise ValueError(f"{path}: {flag}=true is not supported")
    sizes = {}
    for field in ("n_embd", "vocab_size", "n_layer", "n_head", "n_positions", "n_inner"):
        value = config.get(field)
        if field == "n_inner" and value is None:  # GPT-2's default: 4 * n_embd
            continue
        if field not in config:
            raise ValueError(f"{path}: missing field {field!r}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{path}: field {field!r} must be a positive integer, got "
                             f"{value!r}")
        sizes[field] = value
    hidden = sizes["n_embd"]
    return dict(vocabulary_size=sizes["vocab_size"], num_layers=sizes["n_layer"],
                num_heads=sizes["n_head"], hidden_dim=hidden,
                intermediate_dim=sizes.get("n_inner", 4 * hidden),
                max_sequence_length=sizes["n_positions"],
                layer_norm_epsilon=float(config.get("layer_norm_epsilon", 1e-5)))


def read_tensors(src):
    """{name: array} from model.safetensors or the shards its index lists."""
    from safetensors.numpy import load_file

    single = os.path.join(src, "model.safetensors")
    index = os.path.join(src, "model.safetensors.index.json")
    if os.path.isfile(single):
        files = [single]
    elif os.path.isfile(index):
        with open(index, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        files = [os.path.join(src, shard) for shard in shards]
    else:
        raise ValueError(f"{src}: no model.safetensors or model.safetensors.index.json")
    arrays = {}
    for path in files:
        try:
            arrays.update(load_file(path))
        except Exception as error:  # safetensors raises its own SafetensorError type
            raise ValueError(f"{path}: cannot read safetensors: {error}") from None
    return {name.removeprefix("transformer."): array for name, array in arrays.items()}


def load(src):
    """A DecoderLM converted from the Hugging Face GPT-2 checkpoint directory `src`."""
    config = read_config(src)
    tensors = Tensors(read_tensors(src), os.path.join(src, "model.safetensors"))
    d, inner = config["hidden_dim"], config["intermediate_dim"]
    if d % config["num_heads"]:
        raise ValueError(f"{src}: n_embd {d} is not divisible by n_head {config['num_heads']}")
    embeddings = tensors.get("wte.weight", (config["vocabulary_size"], d))
    weights = {
        "token_embedding/embeddings": embeddings,
        "decoder/position_embedding/embeddings": tensors.get(
            "wpe.weight", (config["max_sequence_length"], d)),
        "decoder/final_norm/gamma": tensors.get("ln_f.weight", (d,)),
        "decoder/final_norm/beta": tensors.get("ln_f.bias", (d,)),
    }
    if "lm_head.weight" in tensors.arrays and not np.array_equal(
            tensors.get("lm_head.weight", embeddings.shape), embeddings):
        raise ValueError(f"{tensors.source}: lm_head.weight differs from wte.weight; "
                         "only tied GPT-2 checkpoints are supported")
    shapes = {"ln_1": (d,), "ln_2": (d,), "attn.c_attn": (d, 3 * d), "attn.c_proj": (d, d),
              "mlp.c_fc": (d, inner), "mlp.c_proj": (inner, d)}
    for name, path in tensor_names(config["num_layers"])[4:]:
        shape = shapes[name.split(".", 2)[2].rsplit(".", 1)[0]]
        weights[path] = tensors.get(name, shape[-1:] if name.endswith(".bias") else shape)
    for name, value in weights.items():
        if not np.isfinite(value).all():
            raise ValueError(f"{tensors.source}: {name} holds NaN or infinite values")
    tensors.check_all_used(ignored=[n for n in tensors.arrays if n.endswith(BUFFER_SUFFIXES)])
    return assign(gpt2_decoder_lm(**config), weights)
