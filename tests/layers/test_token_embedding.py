import numpy as np
import pytest

from tfllm.layers import TokenEmbedding, read_word_vectors


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_glove_vectors_fill_rows_and_report_coverage(tmp_path):
    path = write(tmp_path / "glove.txt", "cat 1 2 3\ndog 4 5 6\nzebra 7 8 9\n")
    vocabulary = ["<pad>", "cat", "dog", "emu"]
    layer = TokenEmbedding(4, 3)
    coverage = layer.load_word_vectors(path, vocabulary)
    assert coverage == pytest.approx(0.5)
    table = np.array(layer.embeddings)
    np.testing.assert_array_equal(table[1], [1, 2, 3])
    np.testing.assert_array_equal(table[2], [4, 5, 6])
    assert np.all(np.isfinite(table[[0, 3]])) and np.any(table[[0, 3]] != 0)


def test_word2vec_header_is_skipped(tmp_path):
    path = write(tmp_path / "w2v.txt", "2 2\nhello 0.5 -0.5\nworld 1 1\n")
    matrix, coverage = read_word_vectors(path, ["world", "hello"], 2)
    np.testing.assert_allclose(matrix, [[1, 1], [0.5, -0.5]])
    assert coverage == 1.0


def test_dimension_mismatch_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.txt", "a 1 2 3\nb 1 2\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: vector has 2 values, expected .* 3"):
        read_word_vectors(path, ["a", "b"], 3)


def test_missing_file_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="cannot read word vectors"):
        read_word_vectors(str(tmp_path / "nope.txt"), ["a"], 3)


def test_frozen_table_is_not_trainable():
    layer = TokenEmbedding(10, 4, freeze=True)
    layer(np.array([[1, 2]]))
    assert layer.trainable_weights == [] and len(layer.weights) == 1


def test_tied_projection_is_transpose_of_table():
    layer = TokenEmbedding(5, 3)
    hidden = layer(np.array([[0, 4]]))
    logits = np.array(layer.project(hidden))
    table = np.array(layer.embeddings)
    np.testing.assert_allclose(logits[0, 1], table @ table[4], rtol=1e-5, atol=1e-6)
