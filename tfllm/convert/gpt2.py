"""GPT-2 as a tfllm DecoderLM, and the checked name-to-variable assignment the importers share.

Importers turn a checkpoint into `{tfllm variable path: array}` (paths without the
model's name, e.g. "decoder/block_0/self_attention/qkv/kernel") through `Tensors`,
which names the source tensor and both shapes on a mismatch; `assign` then fills
a `gpt2_decoder_lm` with it.
"""

import numpy as np

from tfllm.models import DecoderLM


def gpt2_decoder_lm(vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                    max_sequence_length, layer_norm_epsilon=1e-5):
    """An untrained DecoderLM with GPT-2's architecture (tanh GELU, pre-LN, learned
    positions, tied embeddings, biases)."""
    return DecoderLM(vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                     max_sequence_length, activation="gelu_tanh", norm="layer_norm",
                     layer_norm_epsilon=layer_norm_epsilon, position="learned",
                     tie_embeddings=True, use_bias=True)


class Tensors:
    """Named source tensors; `get` checks a tensor exists and has the expected shape.

    Args:
        arrays: {source tensor name: array}.
        source: where they come from (a path), for error messages.
    """

    def __init__(self, arrays, source):
        self.arrays = arrays
        self.source = source
        self.used = set()

    def get(self, name, shape):
        """The float32 array `name`, which must have shape `shape`."""
        if name not in self.arrays:
            raise ValueError(f"{self.source}: tensor {name!r} is missing")
        array = np.asarray(self.arrays[name], np.float32)
        if tuple(array.shape) != tuple(shape):
            raise ValueError(f"{self.source}: tensor {name!r} has shape {tuple(array.shape)}, "
                             f"expected {tuple(shape)}")
        self.used.add(name)
        return array

    def check_all_used(self, ignored=()):
        """Raises ValueError if a tensor was never read (a checkpoint of another model)."""
        unused = sorted(set(self.arrays) - self.used - set(ignored))
        if unused:
            raise ValueError(f"{self.source}: {len(unused)} tensors not used by GPT-2, "
                             f"e.g. {unused[:3]}")


def block_path(index, name):
    """The tfllm variable path of `name` in decoder block `index`."""
    return f"decoder/block_{index}/{name}"


def assign(model, weights):
    """Sets every variable of `model` from `weights` ({path: array}); all must be given."""
    variables = {v.path.split("/", 1)[1]: v for v in model.weights}
    if set(variables) != set(weights):
        missing = sorted(set(variables) - set(weights))
        extra = sorted(set(weights) - set(variables))
        raise ValueError(f"converted weights do not match the model: missing {missing[:3]}, "
                         f"unexpected {extra[:3]}")
    for path, variable in variables.items():
        value = weights[path]
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"converted weight {path} has shape {tuple(value.shape)}, "
                             f"the model expects {tuple(variable.shape)}")
        variable.assign(value)
    return model
