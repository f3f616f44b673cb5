"""SentencePiece tokenizer (unigram or BPE), lossless through byte fallback.

Training settings that make decode(encode(x)) == x for any text: identity
normalization, no dummy prefix, no whitespace collapsing, byte fallback, whitespace-only
pieces allowed. SentencePiece decodes its meta symbol U+2581 ("▁") as a space, so a
literal U+2581 in the input is encoded through its three byte-fallback pieces instead
(in Python and in-graph alike). Python `encode` runs the in-graph op, so both agree.
"""

import io
import os
import re
import uuid

from absl import logging
import sentencepiece as spm
import tensorflow as tf
import tensorflow_text as tf_text

from tensorflow_text.python.ops import sentencepiece_tokenizer as tf_text_sp

from tfllm import files, native_log
from tfllm.tokenizers import base

MODEL_FILE = "sentencepiece.model"
META = "\u2581"
_CHUNK_CHARS = 4096


def _sentences(texts):
    """Cuts texts at line ends into training sentences of at most ~_CHUNK_CHARS chars."""
    for text in texts:
        chunk = []
        size = 0
        for line in text.splitlines(keepends=True):
            while len(line) > _CHUNK_CHARS:
                yield line[:_CHUNK_CHARS]
                line = line[_CHUNK_CHARS:]
            if size + len(line) > _CHUNK_CHARS and chunk:
                yield "".join(chunk)
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            yield "".join(chunk)


class _ModelResource(tf_text_sp._SentencepieceModelResource):
    """The model resource under a unique shared_name.

    tensorflow-text creates it with an empty shared_name; in eager mode the cached
    kernel then hands every later SentencepieceTokenizer of the process the FIRST
    model's resource. A unique name gives each model its own kernel and resource.
    """

    def __init__(self, model):
        self._shared_name = f"tfllm_sentencepiece_{uuid.uuid4().hex}"
        super().__init__(model, None)

    def _create_resource(self):
        return tf_text_sp.gen_sentencepiece_tokenizer.sentencepiece_op(
            model=self._model, shared_name=self._shared_name)


class SentencePieceTokenizer(base.Tokenizer):
    """A SentencePiece model with the tfllm id layout (see `tfllm.tokenizers.base`).

    Args:
        model_proto: serialized SentencePiece ModelProto (bytes).
        control_tokens: the control tokens the model was trained with, in id order.

    Example:
        tok = Tokenizer.train(texts, 2000, kind="sentencepiece", model_type="bpe")
    """

    kind = "sentencepiece"

    def __init__(self, model_proto, control_tokens=()):
        super().__init__(control_tokens)
        self._model_proto = model_proto
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        for i, name in enumerate(base.SPECIAL_TOKENS + self.control_tokens):
            if self._sp.id_to_piece(i) != name:
                raise ValueError(f"sentencepiece model: id {i} is "
                                 f"{self._sp.id_to_piece(i)!r}, expected {name!r}")
        self._meta_ids = [self._sp.piece_to_id(f"<0x{b:02X}>") for b in META.encode()]
        with native_log.noise_dropped():  # tensorflow-text logs for each model it loads
            self._tf_tokenizer = tf_text.SentencepieceTokenizer(model=model_proto,
                                                                out_type=tf.int32)
            self._tf_tokenizer._model_resource = _ModelResource(model_proto)
        self._encode_fn = tf.function(self._tf_encode_batch, reduce_retracing=True)

    @classmethod
    def train_from(cls, texts_or_files, vocabulary_size, control_tokens, **options):
        if not isinstance(vocabulary_size, int) or vocabulary_size <= 0:
            raise ValueError(f"vocabulary_size must be a positive int, got {vocabulary_size!r}")
        sentences = list(_sentences(base.training_texts(texts_or_files)))
        if not any(s.strip() for s in sentences):
            raise ValueError("sentencepiece training: the corpus is empty")
        minimum = len(base.SPECIAL_TOKENS) + len(control_tokens) + 256 + 1
        if vocabulary_size < minimum:
            raise ValueError(f"vocabulary_size {vocabulary_size} is below the minimum "
                             f"{minimum} (specials, control tokens, 256 byte pieces, one piece)")
        settings = dict(
            model_type="unigram", character_coverage=1.0, byte_fallback=True,
            normalization_rule_name="identity", add_dummy_prefix=False,
            remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
            split_by_whitespace=True, split_digits=False, max_sentence_length=4 * _CHUNK_CHARS,
            input_sentence_size=2_000_000, shuffle_input_sentence=True,
            num_threads=os.cpu_count() or 1, minloglevel=2,
            # A size the corpus cannot fill gives the pieces it supports (reported).
            hard_vocab_limit=False)
        settings.update(options)
        settings.update(
            vocab_size=vocabulary_size, pad_id=0, bos_id=1, eos_id=2, unk_id=3,
            pad_piece="<pad>", bos_piece="<bos>", eos_piece="<eos>", unk_piece="<unk>",
            control_symbols=[base.SPECIAL_TOKENS[4], *control_tokens])
        if settings["model_type"] not in ("unigram", "bpe"):
            raise ValueError(f"sentencepiece model_type {settings['model_type']!r}: "
                             f"expected 'unigram' or 'bpe'")
        writer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(sentence_iterator=iter(sentences),
                                           model_writer=writer, **settings)
        except RuntimeError as e:
            message = str(e).splitlines()[-1]
            needed = re.search(r"smaller than required_chars\. \d+ vs (\d+)", message)
            if needed:
                raise ValueError(f"vocabulary_size {vocabulary_size} is too small for this "
                                 f"corpus: it needs at least {needed.group(1)} (a piece for "
                                 f"every distinct character, plus the special "
                                 f"pieces), or set the option character_coverage below 1 "
                                 f"(e.g. 0.9995: the rarest characters become byte "
                                 f"pieces)") from None
            raise ValueError(f"sentencepiece training with vocabulary_size "
                             f"{vocabulary_size} failed: {message}") from None
        tokenizer = cls(writer.getvalue(), control_tokens)
        if tokenizer.vocabulary_size < vocabulary_size:
            logging.warning("sentencepiece: the corpus supports %d ids, fewer than the "
                            "vocabulary_size %d asked for; trained %d", tokenizer.vocabulary_size,
                            vocabulary_size, tokenizer.vocabulary_size)
        return tokenizer

    @classmethod
    def load_from(cls, path, config):
        with open(os.path.join(path, MODEL_FILE), "rb") as f:
            return cls(f.read(), config["control_tokens"])

    def _save_assets(self, path):
        files.write_atomically(os.path.join(path, MODEL_FILE), self._model_proto)

    @property
    def vocabulary_size(self):
        return self._sp.get_piece_size()

    def id_to_token(self, token_id):
        return self._sp.id_to_piece(token_id)

    def token_bytes(self):
        pieces = [b""] * self.vocabulary_size
        for i in range(self.num_reserved_ids, self.vocabulary_size):
            piece = self._sp.id_to_piece(i)
            if self._sp.is_byte(i):  # byte fallback: "<0xE2>"
                pieces[i] = bytes([int(piece[1:-1], 16)])
            elif not (self._sp.is_control(i) or self._sp.is_unknown(i)):
                pieces[i] = piece.replace(META, " ").encode()
        return pieces

    def _encode_batch(self, strings):
        # Through the in-graph op: the sentencepiece package bundled in
        # tensorflow-text can break unigram ties differently from the pip one.
        if not strings:
            return []
        return self._encode_fn(tf.constant(strings, tf.string)).to_list()

    def _decode_plain(self, ids):
        return self._sp.decode(ids)

    def _tf_encode_batch(self, strings):
        parts = tf.strings.split(strings, META)
        tokens = self._tf_tokenizer.tokenize(parts.flat_values)
        meta = tf.constant(self._meta_ids, tf.int32)
        suffix = tf.RaggedTensor.from_tensor(
            tf.tile(meta[tf.newaxis], [tf.shape(parts.flat_values)[0], 1]))
        tokens = tf.concat([tokens, suffix], axis=1)
        tokens = tf.RaggedTensor.from_row_splits(tokens, parts.row_splits).merge_dims(1, 2)
        return tokens[:, :-len(self._meta_ids)]

    def _tf_decode_batch(self, ids):
        return self._tf_tokenizer.detokenize(ids)
