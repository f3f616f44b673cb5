from hypothesis import given, strategies as st

from tfllm.feedback import segmentation

_PUNCTUATED = st.text(alphabet=st.sampled_from(list("ab .!?\n\t\"')\u2028\r")), max_size=60)
_TEXT = _PUNCTUATED | st.text(max_size=60)


@given(_TEXT)
def test_sentences_join_back_and_are_non_empty(text):
    sentences = segmentation.split_sentences(text)
    assert "".join(sentences) == text
    assert all(sentences)


@given(_TEXT)
def test_lines_join_back(text):
    assert "".join(segmentation.split_lines(text)) == text


def test_known_sentence_splits():
    assert segmentation.split_sentences("Hi there. Bye!") == ["Hi there. ", "Bye!"]
    assert segmentation.split_sentences('He said "no." Then left?  Yes') == [
        'He said "no." ', "Then left?  ", "Yes"]
    assert segmentation.split_sentences("title\n\nbody text") == ["title\n\n", "body text"]
    assert segmentation.split_sentences("mail a.b@c.com now.") == ["mail a.b@c.com now."]
    assert segmentation.split_sentences("") == []


def test_lines_keep_newlines():
    assert segmentation.split_lines("a\nb\r\n\nc") == ["a\n", "b\r\n", "\n", "c"]
