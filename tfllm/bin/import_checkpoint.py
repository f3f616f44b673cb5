"""tfllm-import: convert a pretrained checkpoint into a tfllm DecoderLM .keras file.

  tfllm-import --from=keras_hub_gpt2 --src=PRESET_DIR --dst=model.keras
  tfllm-import --from=hf_gpt2 --src=HF_DIR --dst=model.keras   # config.json + model.safetensors
"""

import os
import sys

from absl import app, flags

_FROM = flags.DEFINE_enum("from", None, ["keras_hub_gpt2", "hf_gpt2"], "checkpoint format")
_SRC = flags.DEFINE_string("src", None, "checkpoint directory")
_DST = flags.DEFINE_string("dst", None, "output .keras file")


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
    try:
        model = convert(_FROM.value, _SRC.value, _DST.value)
    except ValueError as error:
        print(f"tfllm-import: {error}", file=sys.stderr)
        return 1
    print(f"wrote {_DST.value}: DecoderLM with {model.count_params():,} parameters")
    return 0


def run():
    flags.mark_flags_as_required(["from", "src", "dst"])
    app.run(main)


if __name__ == "__main__":
    run()
