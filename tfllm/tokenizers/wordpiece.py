"""WordPiece tokenizer (BERT-style) for classification and encoder models.

Lossy by design: text is split on whitespace and punctuation before the wordpieces,
so decode() returns the words joined by single spaces (whitespace runs, tabs and
newlines are lost; punctuation comes back space-separated), and words with characters
outside the vocabulary decode to nothing (they encode to `<unk>`). What it guarantees:
for text whose characters occur in the training corpus, decode(encode(x)) equals x's
non-whitespace characters in order, and Python and in-graph encodings are identical.
Use sentencepiece or byte tokenizers for generative models.
"""

import os

import tensorflow as tf
import tensorflow_text as tf_text

from tfllm import files
from tfllm.tokenizers import base

VOCAB_FILE = "vocab.txt"


class WordPieceTokenizer(base.Tokenizer):
    """A WordPiece vocabulary with the tfllm id layout (see `tfllm.tokenizers.base`).

    Args:
        vocabulary: list of pieces; the first entries are the special then control tokens.
        control_tokens: the control tokens, in id order.

    Example:
        tok = Tokenizer.train(texts, 2000, kind="wordpiece")
        tok.decode(tok.encode("Hello,  world"))  # "Hello , world"
    """

    kind = "wordpiece"

    def __init__(self, vocabulary, control_tokens=()):
        super().__init__(control_tokens)
        reserved = list(base.SPECIAL_TOKENS + self.control_tokens)
        if list(vocabulary[:len(reserved)]) != reserved:
            raise ValueError(f"wordpiece vocabulary must start with {reserved}, got "
                             f"{list(vocabulary[:len(reserved)])}")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("wordpiece vocabulary contains duplicate pieces")
        self._vocabulary = list(vocabulary)
        self._pieces = tf.constant(self._vocabulary)
        table = tf.lookup.StaticVocabularyTable(
            tf.lookup.KeyValueTensorInitializer(
                self._pieces, tf.range(len(self._vocabulary), dtype=tf.int64)),
            num_oov_buckets=1)
        self._tf_tokenizer = tf_text.BertTokenizer(
            table, token_out_type=tf.int64, unknown_token="<unk>", lower_case=False)
        self._encode_fn = tf.function(self._tf_encode_batch, reduce_retracing=True)

    @classmethod
    def train_from(cls, texts_or_files, vocabulary_size, control_tokens, **options):
        from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset

        if not isinstance(vocabulary_size, int) or vocabulary_size <= 0:
            raise ValueError(f"vocabulary_size must be a positive int, got {vocabulary_size!r}")
        texts = [t for t in base.training_texts(texts_or_files) if t.strip()]
        if not texts:
            raise ValueError("wordpiece training: the corpus is empty")
        learn_params = dict(options.pop("learn_params", {}))
        if options:
            raise ValueError(f"wordpiece: unknown options {sorted(options)}; "
                             f"expected learn_params")
        reserved = list(base.SPECIAL_TOKENS + control_tokens)
        dataset = tf.data.Dataset.from_tensor_slices(texts).batch(64)
        vocabulary = bert_vocab_from_dataset.bert_vocab_from_dataset(
            dataset, vocabulary_size, reserved,
            bert_tokenizer_params=dict(lower_case=False), learn_params=learn_params)
        slack = learn_params.get("slack_ratio", 0.05)
        if len(vocabulary) < (1 - slack) * vocabulary_size:
            raise ValueError(f"wordpiece: the corpus supports only {len(vocabulary)} "
                             f"pieces, below the requested vocabulary_size {vocabulary_size}")
        return cls(vocabulary, control_tokens)

    @classmethod
    def load_from(cls, path, config):
        with open(os.path.join(path, VOCAB_FILE), encoding="utf-8") as f:
            return cls(f.read().split("\n")[:-1], config["control_tokens"])

    def _save_assets(self, path):
        files.write_atomically(os.path.join(path, VOCAB_FILE),
                              "".join(p + "\n" for p in self._vocabulary))

    @property
    def vocabulary_size(self):
        return len(self._vocabulary)

    def id_to_token(self, token_id):
        return self._vocabulary[token_id]

    def _encode_batch(self, strings):
        if not strings:
            return []
        return self._encode_fn(tf.constant(strings, tf.string)).to_list()

    def _decode_plain(self, ids):
        return " ".join(self._vocabulary[i] for i in ids).replace(" ##", "")

    def _tf_encode_batch(self, strings):
        ids = self._tf_tokenizer.tokenize(strings).merge_dims(1, 2)
        return tf.cast(ids, tf.int32)

    def _tf_decode_batch(self, ids):
        text = tf.strings.reduce_join(tf.gather(self._pieces, ids), axis=-1, separator=" ")
        return tf.strings.regex_replace(text, " ##", "")
