"""A tiny Hugging Face GPT-2 folder written by the tests, and GPT-2's forward in numpy."""

import json
import os

import numpy as np
from safetensors.numpy import save_file

TEXTS = ["def add(a, b):\n    return a + b\n", "The quick brown fox jumps over the lazy dog.",
         "import os\nprint(os.path.join('a', 'b'))\n", "It's 2026; they'll say: héllo 世界!"]
SIZES = dict(n_layer=2, n_head=2, n_embd=16, n_inner=40, n_positions=48)


def write_vocabulary(directory, vocabulary_size=300):
    """vocab.json + merges.txt of a byte-level BPE trained by Hugging Face `tokenizers` on
    TEXTS, "<|endoftext|>" last as in GPT-2; returns the vocabulary size."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(TEXTS * 10, vocab_size=vocabulary_size, min_frequency=1,
                            show_progress=False, special_tokens=[])
    os.makedirs(directory, exist_ok=True)
    bpe.save_model(str(directory))
    path = os.path.join(directory, "vocab.json")
    with open(path, encoding="utf-8") as f:
        vocabulary = json.load(f)
    vocabulary["<|endoftext|>"] = len(vocabulary)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(vocabulary, f, ensure_ascii=False)
    return len(vocabulary)


def random_tensors(vocabulary_size, seed=0):
    """GPT2LMHeadModel tensors as `save_pretrained` names them (no tied lm_head)."""
    rng = np.random.default_rng(seed)
    d, inner, positions = SIZES["n_embd"], SIZES["n_inner"], SIZES["n_positions"]
    shapes = {"wte.weight": (vocabulary_size, d), "wpe.weight": (positions, d),
              "ln_f.weight": (d,), "ln_f.bias": (d,)}
    for i in range(SIZES["n_layer"]):
        shapes.update({f"h.{i}.ln_1.weight": (d,), f"h.{i}.ln_1.bias": (d,),
                       f"h.{i}.attn.c_attn.weight": (d, 3 * d), f"h.{i}.attn.c_attn.bias": (3 * d,),
                       f"h.{i}.attn.c_proj.weight": (d, d), f"h.{i}.attn.c_proj.bias": (d,),
                       f"h.{i}.ln_2.weight": (d,), f"h.{i}.ln_2.bias": (d,),
                       f"h.{i}.mlp.c_fc.weight": (d, inner), f"h.{i}.mlp.c_fc.bias": (inner,),
                       f"h.{i}.mlp.c_proj.weight": (inner, d), f"h.{i}.mlp.c_proj.bias": (d,)})
    return {f"transformer.{name}": rng.normal(0.0, 0.3, shape).astype("float32")
            for name, shape in shapes.items()}


def write_hf_gpt2(directory, seed=0):
    """A complete Hugging Face GPT-2 folder in `directory`; returns its tensors."""
    vocabulary_size = write_vocabulary(directory)
    tensors = random_tensors(vocabulary_size, seed)
    save_file(tensors, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
    config = dict(model_type="gpt2", vocab_size=vocabulary_size, activation_function="gelu_new",
                  layer_norm_epsilon=1e-5, **SIZES)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    return tensors


def numpy_gpt2_logits(tensors, token_ids, num_heads=SIZES["n_head"], epsilon=1e-5):
    """GPT2LMHeadModel's logits (batch, length, vocab), in float64 numpy."""
    t = {name.removeprefix("transformer."): a.astype(np.float64) for name, a in tensors.items()}
    ids = np.asarray(token_ids)
    length = ids.shape[1]

    def norm(x, name):
        mean = x.mean(-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + epsilon) * t[f"{name}.weight"] + t[f"{name}.bias"]

    def conv1d(x, name):
        return x @ t[f"{name}.weight"] + t[f"{name}.bias"]

    def gelu_new(x):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))

    x = t["wte.weight"][ids] + t["wpe.weight"][:length]
    d = x.shape[-1]
    causal = np.tril(np.ones((length, length), bool))
    for i in range(sum(1 for name in t if name.endswith(".ln_1.weight"))):
        q, k, v = np.split(conv1d(norm(x, f"h.{i}.ln_1"), f"h.{i}.attn.c_attn"), 3, axis=-1)
        q, k, v = (a.reshape(*ids.shape, num_heads, d // num_heads).transpose(0, 2, 1, 3)
                   for a in (q, k, v))
        scores = np.where(causal, q @ k.transpose(0, 1, 3, 2) / np.sqrt(d // num_heads), -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        heads = (weights @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        x = x + conv1d(heads, f"h.{i}.attn.c_proj")
        hidden = gelu_new(conv1d(norm(x, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc"))
        x = x + conv1d(hidden, f"h.{i}.mlp.c_proj")
    return norm(x, "ln_f") @ t["wte.weight"].T
