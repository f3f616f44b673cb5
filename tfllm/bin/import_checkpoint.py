"""tfllm-import: convert a pretrained GPT-2 into a tfllm workdir or a DecoderLM .keras file.

  tfllm-import --from=hf_gpt2 --src=HF_DIR --workdir=runs/gpt2
  tfllm-import --from=keras_hub_gpt2 --src=PRESET_DIR --workdir=runs/gpt2
  tfllm-import --from=hf_gpt2 --src=HF_DIR --dst=model.keras     # the model alone

HF_DIR holds config.json, model.safetensors, vocab.json and merges.txt; a keras-hub
preset its tokenizer under assets/tokenizer/. The workdir (model.json, config.json,
tokenizer/, checkpoints/) is what tfllm-generate --workdir, tfllm-finetune
--init_workdir and tfllm-rl-finetune --config.init_from read.
"""

import os
import sys

from absl import app, flags, logging

FLAGS = flags.FLAGS


def define_flags():
    """The flags, defined when the binary runs (tests import `convert` beside the other
    binaries, whose --workdir this one's would clash with)."""
    flags.DEFINE_enum("from", None, ["keras_hub_gpt2", "hf_gpt2"], "checkpoint format")
    flags.DEFINE_string("src", None, "checkpoint directory")
    flags.DEFINE_string("dst", None, "output .keras file (the model alone)")
    flags.DEFINE_string("workdir", None, "output workdir (model and tokenizer)")
    flags.mark_flags_as_required(["from", "src"])


def convert(kind, src, dst):
    """Converts `src` and writes `dst` atomically; returns the model."""
    from tfllm.convert import import_checkpoint

    if not dst.endswith(".keras"):
        raise ValueError(f"--dst {dst!r} must end in .keras")
    if os.path.isdir(dst):
        raise ValueError(f"--dst {dst!r} is a directory; give a file path ending in .keras")
    model = import_checkpoint(kind, src)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    partial = dst[:-len(".keras")] + ".partial.keras"
    try:
        model.save(partial)
        os.replace(partial, dst)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return model


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    if not FLAGS["verbosity"].present:  # no INFO line of the checkpoint's writing
        logging.set_verbosity(logging.WARNING)
    kind, src, dst, workdir = FLAGS["from"].value, FLAGS.src, FLAGS.dst, FLAGS.workdir
    try:
        if (dst is None) == (workdir is None):
            raise ValueError("give one of --workdir=DIR (model and tokenizer) and "
                             "--dst=FILE.keras (the model alone)")
        if workdir:
            from tfllm.convert.workdir import import_workdir

            model = import_workdir(kind, src, workdir)
        else:
            model = convert(kind, src, dst)
    except ValueError as error:
        print(f"tfllm-import: {error}", file=sys.stderr)
        return 1
    print(f"wrote {workdir or dst}: DecoderLM with {model.count_params():,} parameters")
    return 0


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
