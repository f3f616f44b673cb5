"""Trained presets as a start and as an export (`tfllm.models.presets` says where they are
and what a preset folder holds).

`resolve_workdir` turns `preset:<name>` into the preset's folder wherever a binary reads
the workdir it starts from; `export_preset` writes a workdir's model as a trained preset
(tools/export_preset.py).
"""

import json
import os
import re
import shutil
import tempfile

from tfllm.experiment.model import MODEL_FILE, load_model, model_from_json, read_json
from tfllm.experiment.tokenizer import TOKENIZER_DIR

PRESET_PREFIX = "preset:"
MAX_PRESET_BYTES = 30_000_000  # the most a preset shipped in the package may take: 30 MB
CONFIG_FILE = "config.json"
CHECKPOINTS_DIR = "checkpoints"


def resolve_workdir(start):
    """The workdir a run starts from (config.init_from, --init_workdir, a reference
    workdir): `preset:<name>` is that trained preset's folder, which the binaries only
    read (they copy its tokenizer into their own workdir); anything else is returned
    unchanged."""
    if not start or not start.startswith(PRESET_PREFIX):
        return start
    from tfllm.models.presets import trained_preset_dir

    return trained_preset_dir(start[len(PRESET_PREFIX):])


def directory_bytes(path):
    """The total size of the files below `path`."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, names in os.walk(path)
               for f in names)


def export_preset(workdir, name, presets_dir, command, max_bytes=MAX_PRESET_BYTES):
    """Writes the DecoderLM of `workdir` (its newest readable checkpoint, without the
    optimizer) as the trained preset `<presets_dir>/<name>` and returns its preset.json.

    The preset is built in a hidden folder of `presets_dir`, loaded back and checked to
    give the workdir's logits, then renamed into place: on any error nothing is left.
    `command`: the command that trained `workdir`, recorded as provenance.

    Raises:
        ValueError: a bad name (taken, an architecture's, not lower-case letters, digits
            and _), no command, a workdir without a DecoderLM, config, tokenizer or
            checkpoint, or a preset of more than `max_bytes`.
    """
    import numpy as np
    import tensorflow as tf

    from tfllm import files
    from tfllm.models import DECODER_PRESETS, DecoderLM
    from tfllm.models.presets import PRESET_FILE, fingerprint
    from tfllm.tokenizers import Tokenizer
    from tfllm.training import restore_model
    from tfllm.training.checkpoints import model_trackables

    if not re.fullmatch(r"[a-z0-9_]+", name) or name in DECODER_PRESETS:
        raise ValueError(f"preset name {name!r}: expected lower-case letters, digits and _, "
                         f"not an architecture's ({', '.join(sorted(DECODER_PRESETS))})")
    if not command.strip():
        raise ValueError("no command: give the command that trained the workdir (preset.json "
                         "records it)")
    if not os.path.isdir(presets_dir):
        raise ValueError(f"{presets_dir}: no such presets directory")
    target = os.path.join(presets_dir, name)
    if os.path.exists(target):
        raise ValueError(f"{target} exists: remove it first or choose another name")
    read_json(os.path.join(workdir, CONFIG_FILE))
    model = model_from_json(workdir)
    if not isinstance(model, DecoderLM):
        raise ValueError(f"{workdir}: holds a {type(model).__name__}; a preset is a DecoderLM")
    restored = restore_model(os.path.join(workdir, CHECKPOINTS_DIR), model)
    step = int(restored.rsplit("-", 1)[1])
    tokenizer = Tokenizer.load(os.path.join(workdir, TOKENIZER_DIR))
    tokenizer.check_model(model, workdir)
    expected = fingerprint(model, tokenizer)

    building = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=presets_dir)
    try:
        os.chmod(building, 0o755)  # mkdtemp's 0o700 would hide an installed preset
        for file in (MODEL_FILE, CONFIG_FILE):
            shutil.copyfile(os.path.join(workdir, file), os.path.join(building, file))
        tokenizer.save(os.path.join(building, TOKENIZER_DIR))
        checkpoint = tf.train.Checkpoint(**model_trackables(model))
        tf.train.CheckpointManager(checkpoint, os.path.join(building, CHECKPOINTS_DIR),
                                   max_to_keep=1).save(checkpoint_number=step)
        found = fingerprint(load_model(building),
                            Tokenizer.load(os.path.join(building, TOKENIZER_DIR)))
        if not np.allclose(found["logits"], expected["logits"], rtol=1e-5, atol=1e-6):
            raise ValueError(f"{workdir}: the written preset's logits {found['logits']} differ "
                             f"from the workdir's {expected['logits']}")
        size = directory_bytes(building)
        if size > max_bytes:
            raise ValueError(f"{workdir}: the preset would take {size:,} bytes, more than the "
                             f"{max_bytes:,} a preset may")
        preset = {"name": name, "class": type(model).__name__,
                  "source_workdir": os.path.abspath(workdir), "source_step": step,
                  "parameters": int(model.count_params()), "size_bytes": size,
                  "command": command, "fingerprint": expected}
        files.write_atomically(os.path.join(building, PRESET_FILE),
                               json.dumps(preset, indent=2) + "\n")
        os.rename(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return preset
