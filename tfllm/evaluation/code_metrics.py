"""What generated Python looks like: PEP8 codes per line, whether it parses, and intervals.

- `code_statistics(texts)`: over the complete lines of each sample, the share of lines
  carrying each pycodestyle code, the share of samples free of E9 (tokenize/syntax)
  errors, and the share that `ast.parse` accepts (a capability measure beside LM loss).
- `bootstrap_ratio_interval(numerators, denominators)`: a percentile bootstrap interval
  of sum(numerators) / sum(denominators) over samples (violations per character).
"""

import ast
import collections
import warnings

import numpy as np

from tfllm.feedback.pycodestyle_counts import pep8_codes_per_line


def complete_lines(text):
    """`text` up to and including its last line break ("" if it has none)."""
    return text[:text.rfind("\n") + 1]


def parses(text):
    """True if `text` is a valid Python module (`ast.parse`; warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return False
    return True


def code_statistics(texts):
    """PEP8 and syntax statistics of samples, each cut to its complete lines.

    Returns dict(samples, lines, line_share: {code: share of all lines with the code},
    bad_line_share (lines with any violation), no_e9_share (samples without E9xx),
    parse_share (samples `ast.parse` accepts; an empty sample counts as not parsing)).
    """
    line_counts = collections.Counter()
    lines = bad_lines = no_e9 = parsed = 0
    for text in texts:
        text = complete_lines(text)
        per_line = pep8_codes_per_line(text)
        lines += len(per_line)
        bad_lines += sum(1 for codes in per_line if codes)
        for codes in per_line:
            line_counts.update(set(codes))
        no_e9 += not any(code.startswith("E9") for codes in per_line for code in codes)
        parsed += bool(text.strip()) and parses(text)
    n = max(len(texts), 1)
    return {"samples": len(texts), "lines": lines,
            "line_share": {code: count / max(lines, 1)
                           for code, count in line_counts.most_common()},
            "bad_line_share": bad_lines / max(lines, 1),
            "no_e9_share": no_e9 / n, "parse_share": parsed / n}


def bootstrap_ratio_interval(numerators, denominators, confidence=0.95, resamples=2000,
                             seed=0):
    """(low, high): percentile bootstrap interval of sum(num) / sum(den), resampling
    the (numerator, denominator) pairs with replacement."""
    num = np.asarray(numerators, np.float64)
    den = np.asarray(denominators, np.float64)
    if num.shape != den.shape or num.ndim != 1 or not len(num):
        raise ValueError(f"bootstrap_ratio_interval: expected two equal-length non-empty "
                         f"1-D sequences, got shapes {num.shape} and {den.shape}")
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(num), size=(resamples, len(num)))
    ratios = num[index].sum(axis=1) / np.maximum(den[index].sum(axis=1), 1e-12)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)
