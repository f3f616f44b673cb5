import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest
import tensorflow as tf

from tfllm.tokenizers import Tokenizer

CONTROL = ("<|good|>", "<|bad|>")


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.train([], None, kind="byte", control_tokens=CONTROL)


def test_layout(tok):
    assert tok.vocabulary_size == 5 + 2 + 256
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id, tok.sep_id) == (0, 1, 2, 3, 4)
    assert tok.control_token_ids == {"<|good|>": 5, "<|bad|>": 6}
    assert tok.token_to_id("<|bad|>") == 6
    assert tok.encode("A") == [ord("A") + 7]
    with pytest.raises(ValueError, match="not a special"):
        tok.token_to_id("<|ugly|>")


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(st.text())
def test_round_trip_python_and_graph(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert tok.tf_encode(text).numpy().tolist() == ids
    assert tok.tf_decode(tf.constant(ids, tf.int32)).numpy().decode("utf-8") == text


def test_token_byte_and_character_lengths_count_text_not_specials(tok):
    ids = [1, 5] + tok.encode("émoji 😀\n") + [2]
    for lengths, size in ((tok.token_byte_lengths(), 12), (tok.token_character_lengths(), 8)):
        assert lengths.shape == (tok.vocabulary_size,)
        assert sum(lengths[i] for i in ids) == size


def test_control_tokens_atomic(tok):
    ids = tok.encode("x <|good|> y")
    assert not set(ids) & set(range(tok.num_reserved_ids))
    assert tok.decode([5] + ids, skip_special_tokens=False) == "<|good|>x <|good|> y"
    assert tok.decode([5, 2] + ids) == "x <|good|> y"


def test_batch_and_specials(tok):
    out = tok.encode(["ab", ""], add_bos=True, add_eos=True)
    assert out == [[1, 97 + 7, 98 + 7, 2], [1, 2]]
    assert tok.decode(out) == ["ab", ""]
    ragged = tok.tf_encode(tf.constant(["ab", "", "c"]))
    assert ragged.to_list() == tok.encode(["ab", "", "c"])


def test_save_load(tok, tmp_path):
    tok.save(str(tmp_path / "tok"))
    again = Tokenizer.load(str(tmp_path / "tok"))
    assert again.control_token_ids == tok.control_token_ids
    assert again.encode("déf") == tok.encode("déf")


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="smaller"):
        Tokenizer.train([], 100, kind="byte")
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        Tokenizer.train([], 100, kind="char")
    with pytest.raises(ValueError, match="duplicates"):
        Tokenizer.train([], None, kind="byte", control_tokens=("<a>", "<a>"))
    with pytest.raises(ValueError, match="missing"):
        Tokenizer.load(str(tmp_path))
    tok = Tokenizer.train([], None, kind="byte")
    for ids, message in (([104.7, 105.0], "ids must be integers, got 104.7"),
                         (np.array([104.0]), "ids must be integers, got 104.0"),
                         ([True], "ids must be integers, got True"),
                         ([-3], r"id -3 out of range \[0, 261\)"),
                         ([261], r"id 261 out of range")):
        with pytest.raises(ValueError, match=message):
            tok.decode(ids)


def test_a_model_of_another_vocabulary_is_refused():
    import types

    tok = Tokenizer.train([], None, kind="byte")
    tok.check_model(types.SimpleNamespace(vocabulary_size=tok.vocabulary_size))
    for size in (tok.vocabulary_size - 1, tok.vocabulary_size + 64):
        with pytest.raises(ValueError, match=rf"runs/x: the model has {size} token ids but "
                                             rf"its tokenizer 261: a tokenizer from another"):
            tok.check_model(types.SimpleNamespace(vocabulary_size=size), "runs/x")


def test_training_texts_from_files_dirs_and_globs(tmp_path):
    from tfllm.tokenizers import base

    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "b.txt").write_text("beta")
    assert list(base.training_texts(str(tmp_path))) == ["alpha", "beta"]
    assert list(base.training_texts(str(tmp_path / "*.txt"))) == ["alpha", "beta"]
    assert list(base.training_texts([tmp_path / "b.txt", "plain text"])) == [
        "beta", "plain text"]
    # A text that happens to name an existing file is still a text.
    assert list(base.training_texts([str(tmp_path / "a.txt"), "/bin/ls"])) == [
        str(tmp_path / "a.txt"), "/bin/ls"]
    (tmp_path / "c.txt").write_bytes(b"ok \xc3")
    with pytest.raises(ValueError, match=r"c.txt: invalid UTF-8 at byte offset 3"):
        list(base.training_texts([tmp_path / "c.txt"]))
    with pytest.raises(ValueError, match="neither a text nor a file path"):
        list(base.training_texts([3]))
