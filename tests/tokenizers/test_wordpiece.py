import hypothesis
import hypothesis.strategies as st
import pytest
import tensorflow as tf

from tfllm.tokenizers import Tokenizer

CONTROL = ("<|good|>", "<|bad|>")


@pytest.fixture(scope="module")
def tok(code_corpus):
    return Tokenizer.train(code_corpus, 200, kind="wordpiece", control_tokens=CONTROL)


@pytest.fixture(scope="module")
def alphabet(code_corpus):
    return sorted(set("".join(code_corpus)) - {"\x0c"})


def test_layout(tok):
    assert tok.vocabulary_size >= 0.95 * 200
    assert tok.control_token_ids == {"<|good|>": 5, "<|bad|>": 6}
    assert [tok.id_to_token(i) for i in range(5)] == [
        "<pad>", "<bos>", "<eos>", "<unk>", "<sep>"]


def test_guarantee_on_corpus_characters(tok, alphabet):
    @hypothesis.settings(max_examples=20, deadline=None)
    @hypothesis.given(st.text(st.sampled_from(alphabet), max_size=60))
    def check(text):
        ids = tok.encode(text)
        decoded = tok.decode(ids)
        assert "".join(decoded.split()) == "".join(text.split())
        assert tok.tf_encode(text).numpy().tolist() == ids
        assert tok.tf_decode(tf.constant(ids, tf.int32)).numpy().decode() == decoded

    check()


def test_whitespace_is_lost_and_control_tokens_atomic(tok):
    assert tok.decode(tok.encode("a  b\n\tc")) == "a b c"
    ids = tok.encode("<|good|> <pad>")
    assert min(ids) >= tok.num_reserved_ids
    assert tok.decode([5] + tok.encode("a"), skip_special_tokens=False) == "<|good|>a"


def test_save_load_and_saved_model(tok, tmp_path):
    tok.save(str(tmp_path / "tok"))
    again = Tokenizer.load(str(tmp_path / "tok"))
    assert again.encode("return self") == tok.encode("return self")
    module = tf.Module()
    module.tokenizer = again
    module.decode = tf.function(lambda ids: again.tf_decode(again.tf_encode(ids)),
                                input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    assert loaded.decode(tf.constant(["return  self.x"])).numpy().tolist() == [
        b"return self . x"]


def test_vocabulary_too_large():
    with pytest.raises(ValueError, match="supports only"):
        Tokenizer.train(["hello world"] * 3, 500, kind="wordpiece")
