"""Import pretrained checkpoints (keras-hub GPT-2 presets, Hugging Face GPT-2) as DecoderLMs."""

from tfllm.convert import hf_gpt2, keras_hub_gpt2
from tfllm.convert.gpt2 import gpt2_decoder_lm

SOURCES = {"keras_hub_gpt2": keras_hub_gpt2.load, "hf_gpt2": hf_gpt2.load}


def import_checkpoint(kind, src):
    """A tfllm DecoderLM converted from checkpoint directory `src` of format `kind`."""
    if kind not in SOURCES:
        raise ValueError(f"unknown checkpoint format {kind!r}; expected one of {sorted(SOURCES)}")
    return SOURCES[kind](src)


__all__ = ["SOURCES", "gpt2_decoder_lm", "import_checkpoint"]
