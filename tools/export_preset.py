#!/usr/bin/env python3
"""Exports a trained workdir's DecoderLM as a trained preset, to ship inside the package.

    .venv/bin/python tools/export_preset.py --workdir=runs/code_small --name=code_small \\
        --command="<the command that trained runs/code_small>" [--presets_dir=DIR]

Writes <presets_dir>/<name>/ (default: tfllm/presets/, or $TFLLM_PRESETS_DIR): model.json,
config.json, the tokenizer, a model-only checkpoint of the newest readable one and
preset.json (provenance and a logits fingerprint; tfllm.models.presets), atomically, and
refuses a preset of more than 30 MB. Prints one line: where it went and its size in
bytes. Then `DecoderLM.from_preset(name)`, `Tokenizer.from_preset(name)` and every
binary's `--config.init_from=preset:<name>` load it.
"""

import os
import sys

from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "the trained workdir (model.json, config.json, "
                    "tokenizer/, checkpoints/)", required=True)
flags.DEFINE_string("name", None, "the preset's name (lower-case letters, digits, _)",
                    required=True)
flags.DEFINE_string("command", None, "the command that trained --workdir, recorded in "
                    "preset.json", required=True)
flags.DEFINE_string("presets_dir", None, "where the preset goes (default: the package's "
                    "tfllm/presets/, or $TFLLM_PRESETS_DIR)")


def main(argv):
    from tfllm.experiment.presets import directory_bytes, export_preset
    from tfllm.models.presets import presets_dir

    directory = FLAGS.presets_dir or presets_dir()
    preset = export_preset(FLAGS.workdir, FLAGS.name, directory, FLAGS.command)
    target = os.path.join(directory, FLAGS.name)
    print(f"wrote preset {FLAGS.name} ({preset['parameters']:,} parameters, step "
          f"{preset['source_step']}) to {target}: {directory_bytes(target):,} bytes")


if __name__ == "__main__":
    sys.path.insert(0, REPO)
    from tfllm.bin import common

    common.run(main)
