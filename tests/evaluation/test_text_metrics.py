import pytest

from tfllm.evaluation import text_metrics as tm


def test_bleu_perfect_and_hand_computed_partial():
    assert tm.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    # Clipped n-gram precisions 5/6, 3/5, 2/4, 1/3, equal lengths (no brevity penalty).
    assert tm.bleu(["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx(
        100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)


def test_bleu_takes_several_references_per_hypothesis():
    single = tm.bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
    multi = tm.bleu(["the cat sat on the mat"], [["the cat sat on a mat", "on the mat"]])
    assert multi > single


def test_chrf_perfect_and_hand_computed_partial():
    assert tm.chrf(["abcd"], ["abcd"]) == pytest.approx(100.0)
    # char 1-grams: 3/4 precision and recall; 2-grams: 2/3 -> F = (3/4 + 2/3) / 2.
    assert tm.chrf(["abcd"], ["abce"], char_order=2, word_order=0) == pytest.approx(100 * 17 / 24)


def test_rouge_hand_computed():
    scores = tm.rouge(["the cat sat", "a dog"], ["the cat sat on the mat", "a dog"])
    # rouge1: P=1, R=1/2 -> 2/3; rouge2: P=1, R=2/5 -> 4/7; second pair is perfect.
    assert scores["rouge1"] == pytest.approx((2 / 3 + 1) / 2)
    assert scores["rouge2"] == pytest.approx((4 / 7 + 1) / 2)
    assert scores["rougeL"] == pytest.approx((2 / 3 + 1) / 2)
    assert set(tm.rouge(["a"], ["a"], types=("rougeL",))) == {"rougeL"}


def test_exact_match_and_token_f1():
    assert tm.exact_match(["The Cat!", "dog"], ["cat", ["wolf", "Dog."]]) == 1.0
    assert tm.exact_match(["The Cat!"], ["cat"], normalize=False) == 0.0
    # "cat sat" vs "cat sat down": P=1, R=2/3 -> F1 = 0.8; "x" vs "y" -> 0.
    assert tm.token_f1(["the cat sat", "x"], ["cat sat down", "y"]) == pytest.approx(0.4)
    assert tm.token_f1(["the"], ["a"]) == 1.0  # both normalize to no tokens


def test_distinct_n_hand_computed():
    texts = ["a b a b", "a b c"]
    assert tm.distinct_n(texts, 1) == pytest.approx(3 / 7)
    assert tm.distinct_n(texts, 2) == pytest.approx(3 / 5)
    assert tm.distinct_n(["a"], 2) == 0.0


def test_self_bleu():
    assert tm.self_bleu(["a b c d e", "a b c d e", "v w x y z"]) == pytest.approx(200 / 3)
    assert tm.self_bleu(["a b c d", "w x y z"]) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: tm.bleu([], []), "empty input"),
    (lambda: tm.chrf(["a"], ["a", "b"]), "1 hypotheses but 2 references"),
    (lambda: tm.bleu(["a", "b"], [["a"], ["b", "c"]]), "same number of references"),
    (lambda: tm.rouge(["a"], [[]]), r"references\[0\]"),
    (lambda: tm.rouge(["a"], ["a"], types=("rouge9x",)), "bad types"),
    (lambda: tm.exact_match("abc", ["abc"]), "single str"),
    (lambda: tm.token_f1([1], ["a"]), "element 0 is int"),
    (lambda: tm.distinct_n([], 2), "empty input"),
    (lambda: tm.distinct_n(["a b"], 0), "n must be"),
    (lambda: tm.self_bleu(["only one"]), "at least 2"),
])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
