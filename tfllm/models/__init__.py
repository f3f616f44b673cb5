"""Keras models: DecoderLM, Seq2SeqTransformer, EncoderClassifier, RewardModel, ILQLModel."""

from tfllm.models.decoder_lm import DecoderLM
from tfllm.models.encoder_classifier import EncoderClassifier
from tfllm.models.ilql import ILQLModel
from tfllm.models.presets import DECODER_PRESETS
from tfllm.models.reward_model import RewardModel
from tfllm.models.seq2seq import Seq2SeqTransformer

__all__ = ["DECODER_PRESETS", "DecoderLM", "EncoderClassifier", "ILQLModel", "RewardModel",
           "Seq2SeqTransformer"]
