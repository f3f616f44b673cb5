"""A pretrained GPT-2 (model and tokenizer) written as a tfllm workdir.

The workdir holds what every binary reads from one: model.json, config.json (what was
imported, from where), tokenizer/ and a model-only checkpoint in checkpoints/ (step 0),
so `tfllm-generate --workdir`, `tfllm-finetune --init_workdir` and
`tfllm-rl-finetune --config.init_from` start from it.
"""

import json
import os

from tfllm import files

TOKENIZER_DIR = "tokenizer"
CHECKPOINTS_DIR = "checkpoints"
MODEL_FILE = "model.json"
CONFIG_FILE = "config.json"


def gpt2_tokenizer(kind, src):
    """The GPT-2 byte-level BPE tokenizer of checkpoint directory `src` of format `kind`:
    vocab.json + merges.txt (hf_gpt2), assets/tokenizer/vocabulary.json + merges.txt
    (a keras-hub preset saved with its tokenizer)."""
    from tfllm.tokenizers import GPT2BPETokenizer

    folder = src if kind == "hf_gpt2" else os.path.join(src, "assets", "tokenizer")
    vocabulary = os.path.join(folder, "vocab.json" if kind == "hf_gpt2" else "vocabulary.json")
    merges = os.path.join(folder, "merges.txt")
    for path in (vocabulary, merges):
        if not os.path.isfile(path):
            raise ValueError(f"{path}: missing; a workdir needs the tokenizer (or write the "
                             f"model alone with --dst=FILE.keras)")
    return GPT2BPETokenizer.from_files(vocabulary, merges)


def write_workdir(model, tokenizer, workdir, imported):
    """Writes `model` and `tokenizer` as the workdir `workdir`, which must not exist or
    be empty. Built in a hidden folder beside it and renamed into place: on any error
    nothing is left. `imported`: a JSON-able record of the source, kept in config.json."""
    import tensorflow as tf

    from tfllm.models.restore import model_trackables

    tokenizer.check_model(model, workdir)
    with files.new_directory(workdir, f"--workdir {workdir}") as building:
        spec = {"class": type(model).__name__, "config": model.get_config()}
        config = {"imported": imported,
                  "tokenizer": {"kind": tokenizer.kind,
                                "vocabulary_size": tokenizer.vocabulary_size,
                                "control_tokens": list(tokenizer.control_tokens)}}
        for name, value in ((MODEL_FILE, spec), (CONFIG_FILE, config)):
            files.write_atomically(os.path.join(building, name),
                                   json.dumps(value, indent=2, sort_keys=True) + "\n")
        tokenizer.save(os.path.join(building, TOKENIZER_DIR))
        checkpoint = tf.train.Checkpoint(**model_trackables(model))
        tf.train.CheckpointManager(checkpoint, os.path.join(building, CHECKPOINTS_DIR),
                                   max_to_keep=1).save(checkpoint_number=0)


def import_workdir(kind, src, workdir):
    """Converts checkpoint directory `src` of format `kind` (model and tokenizer) into the
    new workdir `workdir`; returns the model."""
    from tfllm.convert import import_checkpoint

    tokenizer = gpt2_tokenizer(kind, src)
    model = import_checkpoint(kind, src)
    write_workdir(model, tokenizer, workdir, {"from": kind, "src": os.path.abspath(src)})
    return model
