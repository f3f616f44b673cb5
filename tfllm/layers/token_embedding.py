"""Token embedding with optional pretrained word vectors and a tied output projection."""

import keras
import numpy as np
from keras import ops

from tfllm.layers.initializers import clone_initializer


def read_word_vectors(path, vocabulary, embedding_dim, seed=0):
    """Reads word2vec / GloVe text vectors aligned to `vocabulary`.

    The file is one `word v1 v2 ...` per line; an optional word2vec header
    line `count dim` is skipped. Words missing from the file get
    `normal(0, std)` rows with the file's standard deviation.

    Args:
        path: text file of vectors.
        vocabulary: list of tokens; row i of the result belongs to vocabulary[i].
        embedding_dim: expected vector dimension.
        seed: seed for the rows of unknown words.

    Returns:
        (matrix float32 (len(vocabulary), embedding_dim), coverage) where
        coverage is the fraction of the vocabulary found in the file.
    """
    index = {token: i for i, token in enumerate(vocabulary)}
    matrix = np.zeros((len(vocabulary), embedding_dim), np.float32)
    found = np.zeros(len(vocabulary), bool)
    try:
        handle = open(path, encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read word vectors {path}: {error.strerror}") from None
    with handle:
        for line_number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").rstrip(" ").split(" ")
            if line_number == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
                continue  # word2vec header: count and dimension.
            if len(fields) - 1 != embedding_dim:
                raise ValueError(
                    f"{path}:{line_number}: vector has {len(fields) - 1} values, "
                    f"expected embedding dimension {embedding_dim}")
            row = index.get(fields[0])
            if row is not None and not found[row]:
                try:
                    matrix[row] = np.asarray(fields[1:], np.float32)
                except ValueError:
                    raise ValueError(f"{path}:{line_number}: non-numeric vector value") from None
                found[row] = True
    std = float(matrix[found].std()) if found.any() else 0.02
    missing = ~found
    matrix[missing] = np.random.default_rng(seed).normal(0.0, std or 0.02,
                                                         (int(missing.sum()), embedding_dim))
    return matrix, float(found.mean())


@keras.saving.register_keras_serializable(package="tfllm")
class TokenEmbedding(keras.layers.Layer):
    """Maps token ids to vectors; `project` reuses the table as the output layer.

    Args:
        vocabulary_size: number of tokens.
        embedding_dim: vector size.
        embeddings_initializer: initializer for the table.
        freeze: if True the table is not trained (e.g. pretrained vectors).

    Example:
        >>> emb = TokenEmbedding(100, 16)
        >>> hidden = emb(np.array([[1, 2, 3]]))       # (1, 3, 16)
        >>> logits = emb.project(hidden)               # (1, 3, 100)
    """

    def __init__(self, vocabulary_size, embedding_dim,
                 embeddings_initializer="glorot_uniform", freeze=False, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.freeze = bool(freeze)

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.vocabulary_size, self.embedding_dim),
            initializer=clone_initializer(self.embeddings_initializer),
            trainable=not self.freeze)
        self.built = True

    def call(self, token_ids):
        return ops.take(self.embeddings, ops.cast(token_ids, "int32"), axis=0)

    def output_table(self, dtype):
        """The table transposed to (embedding_dim, vocabulary_size), in `dtype`: the tied
        output projection's weights (decoding loops compute it once per call)."""
        return ops.transpose(ops.cast(self.embeddings, dtype))

    def project(self, hidden):
        """Logits over the vocabulary from hidden states (tied weights)."""
        return ops.matmul(hidden, self.output_table(hidden.dtype))

    def load_word_vectors(self, path, vocabulary, seed=0):
        """Fills the table from a word2vec/GloVe text file; returns coverage."""
        if len(vocabulary) != self.vocabulary_size:
            raise ValueError(f"vocabulary has {len(vocabulary)} tokens, "
                             f"the embedding expects {self.vocabulary_size}")
        if not self.built:
            self.build()
        matrix, coverage = read_word_vectors(path, vocabulary, self.embedding_dim, seed)
        self.embeddings.assign(matrix)
        return coverage

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size, embedding_dim=self.embedding_dim,
            embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer),
            freeze=self.freeze)
        return config
