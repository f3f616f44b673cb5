"""Tokenizer kinds by name (imported lazily by `Tokenizer.train` / `Tokenizer.load`)."""

from tfllm.tokenizers.byte import ByteTokenizer
from tfllm.tokenizers.sentencepiece import SentencePieceTokenizer
from tfllm.tokenizers.wordpiece import WordPieceTokenizer

KINDS = {"byte": ByteTokenizer, "sentencepiece": SentencePieceTokenizer,
         "wordpiece": WordPieceTokenizer}
