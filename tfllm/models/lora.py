"""LoRA (Hu et al. 2021) on the Dense projections of the tfllm models, through Keras' own
`Dense.enable_lora`: enable, merge into the kernels, save and load the adapters.

Target names match a Dense layer by the end of its path: "qkv" (the fused self-attention
query/key/value projection), "query" and "key_value" (cross-attention), "output" (every
attention and feed-forward output projection), "inner" (the first feed-forward matrix),
"self_attention/output", ... Three names stand for groups: "query_key_value" (the
projections attention computes its queries, keys and values with: "qkv", "query",
"key_value"), "attention" (every attention projection) and "feed_forward" (both
feed-forward matrices).
"""

import keras
import numpy as np

# keras-hub's `default_lora_layer_names` are the query and value projections; the tfllm
# blocks fuse query, key and value into one matrix (as GPT-2's c_attn, which is also
# PEFT's default target for GPT-2), so the default adapts that matrix whole.
DEFAULT_TARGETS = ("query_key_value",)
TARGET_GROUPS = {
    "query_key_value": ("self_attention/qkv", "cross_attention/query",
                        "cross_attention/key_value"),
    "attention": ("self_attention/qkv", "self_attention/output", "cross_attention/query",
                  "cross_attention/key_value", "cross_attention/output"),
    "feed_forward": ("feed_forward/inner", "feed_forward/output"),
}
KNOWN_TARGETS = ("qkv", "query", "key_value", "output", "inner") + tuple(TARGET_GROUPS)
LORA_VARIABLES = ("lora_kernel_a", "lora_kernel_b")
LORA_SUFFIX = ".lora.h5"


def _dense_layers(model):
    """{path below the model: Dense layer} of every Dense sublayer of `model`."""
    prefix = model.name + "/"
    return {layer.path.removeprefix(prefix): layer
            for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.Dense)}


def target_layers(model, names):
    """{path: Dense layer} of `model` that `names` select; ValueError naming a name that
    selects none (a group selects the members the model has)."""
    layers = _dense_layers(model)
    selected = {}
    for name in names:
        suffixes = TARGET_GROUPS.get(name, (name,))
        found = {path: layer for path, layer in layers.items()
                 if any(("/" + path).endswith("/" + s) for s in suffixes)}
        if not found:
            raise ValueError(f"LoRA target {name!r} matches no Dense layer of this "
                             f"{type(model).__name__}; names: {', '.join(KNOWN_TARGETS)} "
                             f"or the end of a layer path, e.g. 'self_attention/output'")
        selected.update(found)
    return dict(sorted(selected.items()))


def lora_layers(model):
    """{path: Dense layer} of `model`'s LoRA-enabled layers."""
    return {path: layer for path, layer in _dense_layers(model).items() if layer.lora_enabled}


def lora_enabled(model):
    """Whether any Dense layer of `model` has LoRA adapters."""
    return bool(lora_layers(model))


def enable_lora(model, rank, target_layer_names=None, lora_alpha=None):
    """Freezes every weight of `model` and adds rank-`rank` adapters to the Dense layers
    `target_layer_names` selects (default DEFAULT_TARGETS), scaled by lora_alpha / rank
    (default alpha: the rank, scale 1). The adapters are then the only trainable weights:
    A from He-uniform, B zeros, so the model starts computing what it did."""
    if not isinstance(rank, (int, np.integer)) or isinstance(rank, bool) or rank < 1:
        raise ValueError(f"LoRA rank must be a positive int, got {rank!r}")
    if lora_alpha is not None and not lora_alpha > 0:
        raise ValueError(f"LoRA alpha must be > 0, got {lora_alpha!r}")
    if lora_enabled(model):
        raise ValueError(f"LoRA is already enabled on this {type(model).__name__}")
    if isinstance(target_layer_names, str):
        raise ValueError(f"target_layer_names must be a list of names, got the string "
                         f"{target_layer_names!r}")
    names = list(DEFAULT_TARGETS if target_layer_names is None else target_layer_names)
    if not names:
        raise ValueError("target_layer_names is empty: name at least one layer")
    layers = target_layers(model, names)
    model.trainable = True
    for layer in model._flatten_layers(include_self=False):
        layer.trainable = False
    for layer in layers.values():
        layer.enable_lora(int(rank), lora_alpha=None if lora_alpha is None
                          else float(lora_alpha))
        for variable in (layer.lora_kernel_a, layer.lora_kernel_b):
            variable.trainable = True  # a frozen layer's new weights start frozen
    return sorted(layers)


def merge_lora(model):
    """A new model of `model`'s class and config whose kernels are `model`'s with the
    adapters folded in (kernel + alpha / rank * A @ B, in the kernel's dtype: Keras'
    `Dense.kernel` would round it to the compute dtype): a plain model, without adapters,
    trainable."""
    merged = type(model).from_config(model.get_config())
    prefix, merged_prefix = model.name + "/", merged.name + "/"
    values = {v.path.removeprefix(prefix): v.numpy() for v in model.variables
              if v.path.rsplit("/", 1)[-1] not in LORA_VARIABLES}
    for path, layer in lora_layers(model).items():
        update = layer.lora_kernel_a.numpy() @ layer.lora_kernel_b.numpy()
        kernel = values[f"{path}/kernel"]
        values[f"{path}/kernel"] = (kernel + layer.lora_alpha / layer.lora_rank
                                    * update).astype(kernel.dtype)
    for variable in merged.variables:
        path = variable.path.removeprefix(merged_prefix)
        if not path.endswith("seed_generator_state"):
            variable.assign(values[path])
    return merged


def save_lora_weights(model, filepath):
    """Writes the adapters (A and B of every LoRA layer, by layer path) and the rank and
    alpha to `filepath` (HDF5, ending in ".lora.h5" as keras-hub's)."""
    import h5py

    layers = lora_layers(model)
    if not layers:
        raise ValueError("no LoRA layers in this model: call enable_lora(rank) first")
    if not str(filepath).endswith(LORA_SUFFIX):
        raise ValueError(f"{filepath}: the file name must end in {LORA_SUFFIX!r}")
    first = next(iter(layers.values()))
    with h5py.File(filepath, "w") as f:
        f.attrs["rank"], f.attrs["alpha"] = first.lora_rank, first.lora_alpha
        for path, layer in layers.items():
            f[f"{path}/lora_kernel_a"] = layer.lora_kernel_a.numpy()
            f[f"{path}/lora_kernel_b"] = layer.lora_kernel_b.numpy()


def load_lora_weights(model, filepath):
    """Restores adapters written by `save_lora_weights`, enabling LoRA on the layers the
    file names (with its rank and alpha) if it is not enabled yet."""
    import h5py

    with h5py.File(filepath, "r") as f:
        rank, alpha = int(f.attrs["rank"]), float(f.attrs["alpha"])
        stored = {}
        f.visititems(lambda name, item: stored.update(
            {name: item[()]} if isinstance(item, h5py.Dataset) else {}))
    paths = sorted({name.rsplit("/", 1)[0] for name in stored})
    if not lora_enabled(model):
        layers = _dense_layers(model)
        missing = [p for p in paths if p not in layers]
        if missing:
            raise ValueError(f"{filepath}: no Dense layer {missing[0]!r} in this "
                             f"{type(model).__name__}")
        enable_lora(model, rank, paths, alpha)
    layers = lora_layers(model)
    if sorted(layers) != paths:
        raise ValueError(f"{filepath} holds adapters of {paths}, the model has LoRA on "
                         f"{sorted(layers)}")
    for path, layer in layers.items():
        if layer.lora_rank != rank:
            raise ValueError(f"{filepath} holds rank-{rank} adapters, the model has rank "
                             f"{layer.lora_rank}")
        layer.lora_kernel_a.assign(stored[f"{path}/lora_kernel_a"])
        layer.lora_kernel_b.assign(stored[f"{path}/lora_kernel_b"])


class LoraMixin:
    """The LoRA methods of the tfllm models (keras-hub Backbone's names where it has one)."""

    def default_lora_layer_names(self):
        """The layers `enable_lora` adapts by default: DEFAULT_TARGETS."""
        return list(DEFAULT_TARGETS)

    def enable_lora(self, rank, target_layer_names=None, lora_alpha=None):
        """Freezes the model and adds LoRA adapters (`tfllm.models.lora.enable_lora`);
        returns the paths of the adapted layers."""
        return enable_lora(self, rank, target_layer_names, lora_alpha)

    def merge_lora(self):
        """A new plain model with the adapters folded into the kernels."""
        return merge_lora(self)

    def save_lora_weights(self, filepath):
        """Writes only the adapters to `filepath` (`*.lora.h5`)."""
        save_lora_weights(self, filepath)

    def load_lora_weights(self, filepath):
        """Restores adapters from `filepath`, enabling LoRA if needed."""
        load_lora_weights(self, filepath)
