"""Keras 3 layers for Transformer language models."""

from keras_hub.layers import PositionEmbedding, RotaryEmbedding, SinePositionEncoding

from tfllm.layers.attention import MultiHeadAttention
from tfllm.layers.feed_forward import FeedForward
from tfllm.layers.initializers import clone_initializer, transformer_initializers
from tfllm.layers.masks import attention_mask, causal_mask
from tfllm.layers.normalization import make_norm
from tfllm.layers.token_embedding import TokenEmbedding, read_word_vectors
from tfllm.layers.transformer_block import TransformerBlock
from tfllm.layers.transformer_stack import TransformerStack
from tfllm.layers.value_head import ValueHead, last_token_values

__all__ = [
    "FeedForward", "MultiHeadAttention", "PositionEmbedding", "RotaryEmbedding",
    "SinePositionEncoding", "TokenEmbedding", "TransformerBlock", "TransformerStack",
    "ValueHead", "attention_mask", "causal_mask", "clone_initializer", "last_token_values",
    "make_norm", "read_word_vectors", "transformer_initializers",
]
