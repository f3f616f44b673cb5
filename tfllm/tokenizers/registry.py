"""Tokenizer kinds by name (imported lazily by `Tokenizer.train` / `Tokenizer.load`)."""

from tfllm.tokenizers.byte import ByteTokenizer

KINDS = {"byte": ByteTokenizer}
