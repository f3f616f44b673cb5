"""Presets of two kinds.

Architectures (`DECODER_PRESETS`, untrained shapes): tiny for tests, the speedrun shape
for models trained from scratch on a CPU, small (the benchmark workload), GPT-2 small.

Trained presets: folders of `presets_dir()` (the package's `tfllm/presets/`, or
$TFLLM_PRESETS_DIR), each a minimal workdir written by tools/export_preset.py:

    <name>/model.json     {"class": ..., "config": ...} as the training binary wrote it
    <name>/config.json    the training config
    <name>/tokenizer/     the tokenizer (Tokenizer.save)
    <name>/checkpoints/   a model-only checkpoint (no optimizer slots)
    <name>/preset.json    provenance: source workdir and step, parameters, size in bytes
                          (of the other files), the command that trained the source
                          workdir, the logits `fingerprint`
"""

import os

DECODER_PRESETS = {
    # Seconds on a CPU: unit tests.
    "tiny": dict(vocabulary_size=512, num_layers=2, num_heads=2, hidden_dim=32,
                 intermediate_dim=64, max_sequence_length=64),
    # The fastest shape to a target loss on 2 CPU cores (configs/speedrun.py:tfllm,
    # docs/performance.md "Speedrun"): the configs that train from scratch start here.
    "speedrun": dict(vocabulary_size=4096, num_layers=2, num_heads=4, hidden_dim=128,
                     intermediate_dim=512, max_sequence_length=128),
    # The throughput benchmark's workload (tools/bench.py).
    "small": dict(vocabulary_size=8192, num_layers=4, num_heads=4, hidden_dim=256,
                  intermediate_dim=1024, max_sequence_length=256, activation="gelu_tanh"),
    # GPT-2 small (124M): for accelerator users.
    "gpt2_124m": dict(vocabulary_size=50257, num_layers=12, num_heads=12, hidden_dim=768,
                      intermediate_dim=3072, max_sequence_length=1024, dropout=0.1,
                      activation="gelu_tanh"),
}

PRESETS_DIR_VARIABLE = "TFLLM_PRESETS_DIR"
PACKAGE_PRESETS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                   "presets")
PRESET_FILE = "preset.json"
FINGERPRINT_PROMPT = "def add(a, b):\n"
FINGERPRINT_SIZE = 8


def presets_dir():
    """Where trained presets are: $TFLLM_PRESETS_DIR if set, else the package's folder."""
    return os.environ.get(PRESETS_DIR_VARIABLE) or PACKAGE_PRESETS_DIR


def trained_preset_names(directory=None):
    """The sorted names of the complete trained presets in `directory` (default
    `presets_dir()`): folders holding a preset.json, not the hidden ones of an export."""
    directory = directory or presets_dir()
    if not os.path.isdir(directory):
        return []
    return sorted(name for name in os.listdir(directory) if not name.startswith(".")
                  and os.path.isfile(os.path.join(directory, name, PRESET_FILE)))


def trained_preset_dir(name):
    """The folder of trained preset `name`; ValueError naming both kinds of preset if
    there is none."""
    directory = presets_dir()
    names = trained_preset_names(directory)
    if name in names:
        return os.path.join(directory, name)
    trained = f"trained presets in {directory}: {', '.join(names) or '(none)'}"
    if name in DECODER_PRESETS:
        raise ValueError(f"preset {name!r} is an untrained architecture (no weights, no "
                         f"tokenizer); {trained}")
    raise ValueError(f"unknown preset {name!r}; {trained}; untrained architectures: "
                     f"{', '.join(sorted(DECODER_PRESETS))}")


def fingerprint(model, tokenizer, prompt=FINGERPRINT_PROMPT, size=FINGERPRINT_SIZE):
    """The first `size` logits at the last position of `prompt`: what preset.json stores
    to tell a correctly loaded model (float32) from any other."""
    import numpy as np

    token_ids = tokenizer.encode(prompt)
    logits = model(np.array([token_ids], "int32"))
    return {"prompt": prompt, "token_ids": token_ids,
            "logits": [float(x) for x in np.asarray(logits)[0, -1, :size]]}
