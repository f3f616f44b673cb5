"""Serving: text-in/text-out SavedModels with the tokenizer and generation loop in the graph."""

from tfllm.serving.export import DEFAULTS, export, write_saved_model
from tfllm.serving.text_generation import TextGenerationFunction

__all__ = ["DEFAULTS", "TextGenerationFunction", "export", "write_saved_model"]
