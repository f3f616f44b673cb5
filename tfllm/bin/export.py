"""tfllm-export: write a trained run as model.keras + tokenizer/ + a text-in/text-out
SavedModel, or as a Hugging Face GPT-2 folder.

    tfllm-export --workdir=runs/chat [--output=runs/chat/export] [--max_new_tokens=64]
        [--temperature=0.7 --top_k=40 --top_p=0.95 --seed=0]
    tfllm-export --workdir=runs/x --model=imported.keras --tokenizer=DIR   # any .keras model
    tfllm-export --workdir=runs/gpt2 --to=hf_gpt2 [--output=runs/gpt2/hf_gpt2]

The sampling flags set the defaults of the SavedModel's `serving_default` signature; the
`generate` signature takes every setting per request (see tfllm.serving.export).
--to=hf_gpt2 writes config.json, model.safetensors and (a GPT-2 tokenizer's) vocab.json
and merges.txt for a DecoderLM of GPT-2's shape (tfllm.convert.hf_gpt2_export).
"""

import os

from absl import flags

from tfllm import experiment
from tfllm.bin import common

FLAGS = flags.FLAGS


def define_export_flags():
    flags.DEFINE_enum("to", "saved_model", ["saved_model", "hf_gpt2"], "what to write: "
                      "model.keras + tokenizer/ + SavedModel, or a Hugging Face GPT-2 folder")
    flags.DEFINE_string("model", None, ".keras model file (default: the newest checkpoint "
                        "of --workdir)")
    flags.DEFINE_string("tokenizer", None, "tokenizer directory (default: <workdir>/tokenizer)")
    flags.DEFINE_string("output", None, "export directory (default: <workdir>/export)")
    flags.DEFINE_integer("max_new_tokens", 32, "default tokens generated per prompt")
    flags.DEFINE_float("temperature", 0.0, "default temperature (<= 0: greedy)")
    flags.DEFINE_integer("top_k", 0, "default top-k (0: off)")
    flags.DEFINE_float("top_p", 1.0, "default nucleus mass (1: off)")
    flags.DEFINE_integer("seed", 0, "default sampling seed")
    flags.DEFINE_bool("add_bos", True, "DecoderLM prompts start with <bos>")
    flags.DEFINE_list("preference", None, "preference vector baked in for "
                      "DecoderLM(preference_dim>0), e.g. --preference=1.0")


def main(argv):
    import keras

    from tfllm.serving import export
    from tfllm.tokenizers import Tokenizer

    workdir = FLAGS.workdir
    model = keras.saving.load_model(FLAGS.model) if FLAGS.model else experiment.load_model(workdir)
    tokenizer = Tokenizer.load(FLAGS.tokenizer or os.path.join(workdir, "tokenizer"))
    if FLAGS.to == "hf_gpt2":
        from tfllm.convert.hf_gpt2_export import export as export_hf

        output = FLAGS.output or os.path.join(workdir, "hf_gpt2")
        print(f"wrote {output}: {', '.join(export_hf(model, tokenizer, output))}")
        return
    preference = [float(v) for v in FLAGS.preference] if FLAGS.preference else None
    output = export(model, tokenizer, FLAGS.output or os.path.join(workdir, "export"),
                    add_bos=FLAGS.add_bos, preference=preference,
                    max_new_tokens=FLAGS.max_new_tokens, temperature=FLAGS.temperature,
                    top_k=FLAGS.top_k, top_p=FLAGS.top_p, seed=FLAGS.seed)
    print(f"wrote {output}/model.keras, tokenizer/ and saved_model/\n"
          f"saved_model_cli show --dir {output}/saved_model --tag_set serve "
          "--signature_def serving_default")


def run():
    common.define_flags(config=None, strategy=False)
    define_export_flags()
    common.run(main)


if __name__ == "__main__":
    run()
