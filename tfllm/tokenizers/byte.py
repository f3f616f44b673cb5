"""Byte-level tokenizer: every UTF-8 byte is one token; lossless for any text.

Ids: 0-4 special tokens, 5..5+k-1 control tokens, then byte b has id 5 + k + b,
so `vocabulary_size == 261 + k`.
"""

import tensorflow as tf

from tfllm.tokenizers import base


class ByteTokenizer(base.Tokenizer):
    """UTF-8 bytes as tokens; needs no training.

    Args:
        control_tokens: user control tokens, e.g. ("<|good|>", "<|bad|>").

    Example:
        tok = ByteTokenizer(control_tokens=("<|good|>",))
        tok.encode("hi")  # [110, 111]: byte + 6
    """

    kind = "byte"

    def __init__(self, control_tokens=()):
        super().__init__(control_tokens)
        self._byte_strings = tf.constant([bytes([b]) for b in range(256)])

    @classmethod
    def train_from(cls, texts_or_files, vocabulary_size, control_tokens, **options):
        if options:
            raise ValueError(f"byte tokenizer takes no options, got {sorted(options)}")
        tok = cls(control_tokens)
        if vocabulary_size is not None and vocabulary_size < tok.vocabulary_size:
            raise ValueError(f"vocabulary_size {vocabulary_size} is smaller than the byte "
                             f"tokenizer's fixed size {tok.vocabulary_size}")
        return tok

    @classmethod
    def load_from(cls, path, config):
        return cls(config["control_tokens"])

    @property
    def vocabulary_size(self):
        return self.num_reserved_ids + 256

    def id_to_token(self, token_id):
        if token_id < self.num_reserved_ids:
            return list(self.special_token_ids)[token_id]
        return bytes([token_id - self.num_reserved_ids])

    def token_bytes(self):
        return [b""] * self.num_reserved_ids + [bytes([b]) for b in range(256)]

    def _encode_batch(self, strings):
        offset = self.num_reserved_ids
        return [[b + offset for b in s.encode("utf-8")] for s in strings]

    def _decode_plain(self, ids):
        offset = self.num_reserved_ids
        return bytes(i - offset for i in ids).decode("utf-8", errors="replace")

    def _tf_encode_batch(self, strings):
        lengths = tf.strings.length(strings)
        width = tf.maximum(tf.reduce_max(tf.concat([lengths, [1]], 0)), 1)
        raw = tf.io.decode_raw(strings, tf.uint8, fixed_length=width)
        ids = tf.cast(raw, tf.int32) + self.num_reserved_ids
        return tf.RaggedTensor.from_tensor(ids, lengths=lengths)

    def _tf_decode_batch(self, ids):
        pieces = tf.gather(self._byte_strings, ids - self.num_reserved_ids)
        return tf.strings.reduce_join(pieces, axis=-1)
