"""Tokenizer kinds by name (imported lazily by `Tokenizer.train` / `Tokenizer.load`)."""

from tfllm.tokenizers.byte import ByteTokenizer
from tfllm.tokenizers.gpt2_bpe import GPT2BPETokenizer
from tfllm.tokenizers.sentencepiece import SentencePieceTokenizer
from tfllm.tokenizers.wordpiece import WordPieceTokenizer

KINDS = {"byte": ByteTokenizer, "gpt2_bpe": GPT2BPETokenizer,
         "sentencepiece": SentencePieceTokenizer, "wordpiece": WordPieceTokenizer}
