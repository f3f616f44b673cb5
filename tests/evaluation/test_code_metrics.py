import numpy as np
import pytest

from tfllm.evaluation.code_metrics import (bootstrap_ratio_interval, code_statistics,
                                           complete_lines, parses)


def test_code_statistics_by_hand():
    texts = ["def f( x ):\n  return x\n",  # E201 E202 / E111; parses
             "x = (\n",                      # E901 (unclosed bracket); does not parse
             "y = 2\nz = (1"]                # the cut line is dropped; parses
    stats = code_statistics(texts)
    assert stats["samples"] == 3 and stats["lines"] == 4
    assert stats["line_share"] == {"E201": 0.25, "E202": 0.25, "E111": 0.25, "E901": 0.25}
    assert stats["bad_line_share"] == 0.75
    assert stats["no_e9_share"] == pytest.approx(2 / 3)
    assert stats["parse_share"] == pytest.approx(2 / 3)


def test_empty_sample_does_not_parse():
    assert code_statistics(["no line break"])["parse_share"] == 0.0
    assert complete_lines("a\nb") == "a\n" and complete_lines("ab") == ""
    assert parses("x = 1\n") and not parses("def f(:\n") and not parses("x = '\0'\0")


def test_bootstrap_interval_covers_the_ratio_and_shrinks_with_more_samples():
    rng = np.random.default_rng(1)
    chars = rng.integers(100, 500, size=400)
    violations = rng.binomial(chars, 0.01)
    ratio = violations.sum() / chars.sum()
    low, high = bootstrap_ratio_interval(violations, chars)
    assert low < ratio < high
    small_low, small_high = bootstrap_ratio_interval(violations[:25], chars[:25])
    assert small_high - small_low > high - low
    assert bootstrap_ratio_interval([2, 2], [100, 100]) == (0.02, 0.02)
    with pytest.raises(ValueError, match="equal-length"):
        bootstrap_ratio_interval([1], [1, 2])
