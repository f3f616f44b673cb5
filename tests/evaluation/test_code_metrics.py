import numpy as np
import pytest

from tfllm.evaluation.code_metrics import (bootstrap_ratio_interval, code_statistics,
                                           complete_lines, parses, tokenizing_lines)

PROMPT = 'def f(x):\n    """Doc."""\n'  # a held-out signature and docstring: it parses


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


def test_tokenizing_lines_stop_at_the_statement_of_the_first_error():
    assert tokenizing_lines("") == 0 and tokenizing_lines("x = 1\ny = 2\n") == 2
    # a bracket, string or backslash still open at the cut: its statement's lines fail
    assert tokenizing_lines("x = 1\n\n# c\ny = (\n2,\n") == 3
    assert tokenizing_lines('x = 1\ns = """a\nb\n') == 1
    assert tokenizing_lines("x = 1\ny = 2 + \\\n") == 1
    assert tokenizing_lines("if x:\n        a\n    b\n") == 2  # dedent to no outer level
    assert tokenizing_lines("x = 1\ny = $\nz = 2\n") == 1  # an error token; none after
    tabs = "if x:\n\ta = 1\n        b = 2\n"  # TabError is the compiler's only
    assert tokenizing_lines(tabs) == 3 and not parses(tabs)


def test_empty_samples_are_counted_and_never_perfect():
    texts = ["", "x = 1", "x = 1\n", "if x:\n\ta = 1\n        b = 2\n"]
    stats = code_statistics(texts)  # empty, empty (no complete line), parses, TabError
    assert stats["empty_samples"] == 2 and stats["empty_share"] == 0.5
    assert stats["parse_share"] == 0.25 and stats["no_e9_share"] == 0.5
    assert stats["tokenizing_line_share"] == 0.5  # (0 + 0 + 1 + 1) / 4


def test_prompted_continuations_are_measured_after_the_prompt():
    assert parses(PROMPT)  # so an empty continuation would parse as a whole
    continuations = ["    return x\n",               # parses; 1 of 1 line tokenizes
                     "    y = [x,\n         1\n",    # unclosed bracket: 0 of 2
                     "    return x",                 # no complete line: empty
                     "\n  \n",                       # blank lines only: empty
                     "    y = 1\n  return y\n"]      # bad dedent: 1 of 2
    stats = code_statistics([PROMPT + c for c in continuations], [PROMPT] * 5)
    assert stats["empty_samples"] == 2 and stats["empty_share"] == pytest.approx(0.4)
    assert stats["parse_share"] == pytest.approx(0.2)
    assert stats["no_e9_share"] == pytest.approx(0.2)
    assert stats["tokenizing_line_share"] == pytest.approx((1 + 0 + 0 + 0 + 0.5) / 5)
    with pytest.raises(ValueError, match="does not start with its prompt"):
        code_statistics(["x = 1\n"], [PROMPT])
    with pytest.raises(ValueError, match="1 prompts for 2 texts"):
        code_statistics(["a\n", "b\n"], [""])


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
