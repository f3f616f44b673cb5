"""tfllm.tokenizers: train and load tokenizers with atomic special and control tokens.

`Tokenizer.train(texts_or_files, vocabulary_size, kind="sentencepiece" | "wordpiece" |
"byte", control_tokens=(...), **options)`, `Tokenizer.load(path)`, GPT-2's pretrained
byte-level BPE (`GPT2BPETokenizer.from_files(vocab.json, merges.txt)`, kind "gpt2_bpe"),
`Tokenizer.from_preset(name)` (a trained preset's); see `base` for the id layout shared
by every kind.
"""

from tfllm.tokenizers.base import SPECIAL_TOKENS, Tokenizer
from tfllm.tokenizers.byte import ByteTokenizer
from tfllm.tokenizers.gpt2_bpe import GPT2BPETokenizer
from tfllm.tokenizers.sentencepiece import SentencePieceTokenizer
from tfllm.tokenizers.wordpiece import WordPieceTokenizer

__all__ = ["SPECIAL_TOKENS", "ByteTokenizer", "GPT2BPETokenizer", "SentencePieceTokenizer",
           "Tokenizer", "WordPieceTokenizer"]
