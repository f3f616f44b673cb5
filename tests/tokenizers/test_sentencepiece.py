import hypothesis
import hypothesis.strategies as st
import pytest
import tensorflow as tf

from tfllm.tokenizers import Tokenizer

CONTROL = ("<|good|>", "<|bad|>")

code_lines = st.lists(
    st.tuples(st.sampled_from(["", "    ", "\t", "        ", " \t "]),
              st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
              st.sampled_from(["", " ", "  ", "\t"])),
    max_size=6).map(lambda lines: "\n".join(a + b + c for a, b, c in lines))


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def tok(request, code_corpus):
    return Tokenizer.train(code_corpus, 400, kind="sentencepiece", control_tokens=CONTROL,
                           model_type=request.param)


def test_layout(tok):
    assert tok.vocabulary_size == 400
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id, tok.sep_id) == (0, 1, 2, 3, 4)
    assert tok.control_token_ids == {"<|good|>": 5, "<|bad|>": 6}
    assert [tok.id_to_token(i) for i in range(7)] == [
        "<pad>", "<bos>", "<eos>", "<unk>", "<sep>", "<|good|>", "<|bad|>"]


@hypothesis.settings(max_examples=25, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(st.one_of(st.text(), code_lines))
def test_round_trip_and_graph_identical(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert tok.tf_encode(text).numpy().tolist() == ids
    assert tok.tf_decode(tf.constant(ids, tf.int32)).numpy().decode("utf-8") == text


@pytest.mark.parametrize("text", [
    "def f(x):\n\tif x:  \n        return '▁'  # ▁▁\n", "▁", "▁a▁", "  \n\n\t ", "",
    "emoji 👩‍👩‍👧 \u200b\r\n", "<|good|><|bad|><pad><eos>"])
def test_round_trip_edge_cases(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert tok.tf_encode(tf.constant([text, "x"])).to_list() == [ids, tok.encode("x")]


@pytest.mark.parametrize("text", [
    "def f(x):\n\tif x:  \n        return '▁'  # ▁▁\n", "émoji 👩‍👩‍👧 and tabs\t\n",
    "<|good|>x = 1\n<|bad|>y=2\n"])
def test_token_byte_and_character_lengths_add_up_to_the_text(tok, text):
    ids = [1, 5] + tok.encode(text) + [6, 2]
    for lengths, size in ((tok.token_byte_lengths(), len(text.encode())),
                          (tok.token_character_lengths(), len(text))):
        assert lengths.shape == (tok.vocabulary_size,) and not lengths[:7].any()
        assert sum(lengths[i] for i in ids) == size


def test_control_tokens_atomic(tok):
    ids = tok.encode("<|good|> text <sep> <eos> <|bad|>")
    assert min(ids) >= tok.num_reserved_ids
    good, bad = tok.control_token_ids.values()
    assert tok.decode([good] + tok.encode("x") + [bad], skip_special_tokens=False) \
        == "<|good|>x<|bad|>"
    assert tok.decode([good] + tok.encode("x") + [tok.eos_id]) == "x"
    graph = tok.tf_decode(tf.ragged.constant([[good] + tok.encode("x y")]))
    assert graph.numpy().tolist() == [b"x y"]


def test_save_load_and_saved_model(tok, tmp_path):
    tok.save(str(tmp_path / "tok"))
    again = Tokenizer.load(str(tmp_path / "tok"))
    assert again.encode("def f():\n  pass") == tok.encode("def f():\n  pass")
    assert again.control_token_ids == tok.control_token_ids

    module = tf.Module()
    module.tokenizer = again
    module.encode = tf.function(lambda s: again.tf_encode(s).to_tensor(),
                                input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    dense = loaded.encode(tf.constant(["a  b", "▁c"])).numpy().tolist()
    expected = tok.encode(["a  b", "▁c"])
    width = max(map(len, expected))
    assert dense == [ids + [0] * (width - len(ids)) for ids in expected]


def test_loading_a_model_logs_nothing_from_python(tok, tmp_path, capfd):
    """tensorflow-text's `precompiled_charsmap is empty` line for each model it loads is
    dropped in library use too (not only by the binaries' stderr filter)."""
    tok.save(str(tmp_path / "tok"))
    capfd.readouterr()
    Tokenizer.load(str(tmp_path / "tok")).encode("def f():")
    assert "precompiled_charsmap" not in capfd.readouterr().err


def test_vocabulary_size_is_a_soft_limit_and_a_named_minimum(caplog):
    text = ["Hello world, this is a small mixed text. Ünïcödé? 12345 " * 3,
            "def f(x):\n    return x * 2\n"]
    for model_type in ("unigram", "bpe"):
        tok = Tokenizer.train(text, 2000, kind="sentencepiece", model_type=model_type)
        assert 290 < tok.vocabulary_size < 2000
        assert tok.decode(tok.encode(text)) == text
        assert f"the corpus supports {tok.vocabulary_size} ids, fewer than the " \
               "vocabulary_size 2000" in caplog.text
    with pytest.raises(ValueError, match=r"vocabulary_size 280 is too small for this corpus: "
                                         r"it needs at least 29\d "):
        Tokenizer.train(text, 280, kind="sentencepiece")


def test_bad_input(code_corpus):
    with pytest.raises(ValueError, match="below the minimum"):
        Tokenizer.train(code_corpus, 200, kind="sentencepiece")
    with pytest.raises(ValueError, match="empty"):
        Tokenizer.train(["", "  "], 400, kind="sentencepiece")
    with pytest.raises(ValueError, match="model_type"):
        Tokenizer.train(code_corpus, 400, kind="sentencepiece", model_type="word")
    with pytest.raises(ValueError, match="no such file"):
        Tokenizer.train("/nonexistent/corpus.txt", 400, kind="sentencepiece")
