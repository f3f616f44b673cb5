"""Export a model for serving: a .keras file, its tokenizer, and a text-in/text-out SavedModel.

Layout of the export directory (written to a temporary sibling, then renamed):

  model.keras      the Keras model (keras.saving.load_model)
  tokenizer/       tfllm.tokenizers.Tokenizer.load
  saved_model/     tf.saved_model.load; needs only tensorflow and tensorflow_text

SavedModel signatures (a signature cannot have optional inputs, so there are two):

  serving_default(prompt: string (batch,)) -> {"text": string (batch,)}
      generation with the defaults chosen at export time;
  generate(prompt, max_new_tokens: int32 (), temperature: float32 (), top_k: int32 (),
           top_p: float32 (), seed: int32 ()) -> {"text": string (batch,)}
      every sampler setting per request (temperature <= 0: greedy; top_k 0: off).

`text` is the generated continuation only, special tokens removed.

Bad input to a loaded signature (tf.saved_model.load(...).signatures[name]):
  a non-string `prompt` (e.g. tf.constant([1, 2])) is rejected by TensorFlow before the
      graph runs: InvalidArgumentError "... input #0(zero-based) was expected to be a
      string tensor but is a int32 tensor" (a Python list of non-strings: TypeError
      "Cannot convert [1, 2] to EagerTensor of dtype string");
  a string `prompt` that is not 1-D (a scalar, or (batch, 1)) is rejected by the graph's
      first op: InvalidArgumentError "Shape of tensor prompt [] is not compatible with
      expected shape [?]" (see text_generation.checked_prompt);
  an empty prompt to a Seq2Seq model (no encoder token): "every prompt needs at least
      one token".
"""

import os
import shutil

import keras
import tensorflow as tf

from tfllm.serving.text_generation import TextGenerationFunction

DEFAULTS = dict(max_new_tokens=32, temperature=0.0, top_k=0, top_p=1.0, seed=0)
SETTING_SPECS = dict(max_new_tokens=tf.int32, temperature=tf.float32, top_k=tf.int32,
                     top_p=tf.float32, seed=tf.int32)
PROMPT_SPEC = tf.TensorSpec([None], tf.string, name="prompt")


def check_settings(settings):
    """Validated sampler settings (DEFAULTS overridden by `settings`)."""
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown generation settings {sorted(unknown)}; expected some of "
                         f"{sorted(DEFAULTS)}")
    settings = {**DEFAULTS, **settings}
    if int(settings["max_new_tokens"]) < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {settings['max_new_tokens']}")
    if int(settings["top_k"]) < 0:
        raise ValueError(f"top_k must be >= 0, got {settings['top_k']}")
    if not 0.0 < float(settings["top_p"]) <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {settings['top_p']}")
    return settings


def write_saved_model(model, tokenizer, path, add_bos=True, preference=None, **settings):
    """Writes the text-generation SavedModel of `model` + `tokenizer` to `path`."""
    settings = check_settings(settings)
    generate_text = TextGenerationFunction(model, tokenizer, add_bos, preference)

    def generate(prompt, max_new_tokens, temperature, top_k, top_p, seed):
        return {"text": generate_text(prompt, max_new_tokens, temperature, top_k, top_p, seed)}

    archive = keras.export.ExportArchive()
    archive.track(tokenizer)  # the model's variables are tracked through the endpoints
    generate_fn = archive.add_endpoint("generate", generate, input_signature=[PROMPT_SPEC] + [
        tf.TensorSpec([], dtype, name=name) for name, dtype in SETTING_SPECS.items()])

    def serving_default(prompt):
        return generate_fn(prompt, *(tf.constant(settings[name], dtype)
                                     for name, dtype in SETTING_SPECS.items()))

    archive.add_endpoint("serving_default", serving_default, input_signature=[PROMPT_SPEC])
    archive.write_out(path, verbose=False)


def export(model, tokenizer, directory, add_bos=True, preference=None, **settings):
    """Writes `directory`/{model.keras, tokenizer/, saved_model/} (replacing it whole).

    Args:
        model: a DecoderLM or Seq2SeqTransformer.
        tokenizer: the tfllm Tokenizer the model was trained with.
        directory: the export directory.
        add_bos, preference: see TextGenerationFunction.
        **settings: defaults of serving_default: max_new_tokens, temperature, top_k,
            top_p, seed (see DEFAULTS).

    Returns:
        `directory`.
    """
    directory = os.path.abspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(f"{directory}: exists and is not a directory; export writes a "
                         f"folder (model.keras, tokenizer/, saved_model/)")
    partial = directory + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    try:
        model.save(os.path.join(partial, "model.keras"))
        tokenizer.save(os.path.join(partial, "tokenizer"))
        write_saved_model(model, tokenizer, os.path.join(partial, "saved_model"), add_bos,
                          preference, **settings)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(partial, directory)
    return directory
