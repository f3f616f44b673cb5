"""What generated Python looks like: PEP8 codes per line, whether it parses, and intervals.

- `code_statistics(texts, prompts)`: over the complete lines of each sample, the share of
  lines carrying each pycodestyle code, the share of samples free of E9 (tokenize/syntax)
  errors, the share that `ast.parse` accepts and the share of their lines that
  `tokenize` accepts (capability measures beside LM loss), and the empty samples.
- `bootstrap_ratio_interval(numerators, denominators)`: a percentile bootstrap interval
  of sum(numerators) / sum(denominators) over samples (violations per character).
"""

import ast
import collections
import io
import tokenize
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


def tokenizing_lines(text):
    """The lines of `text` before the statement (logical line) in which `tokenize` first
    fails: an error token, a bad dedent, or a bracket, string or backslash continuation
    still open at the end. Tab/space mixes only the compiler rejects (TabError) pass."""
    done, in_statement = 0, False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.ERRORTOKEN:
                return done
            if token.type == tokenize.NEWLINE or (token.type == tokenize.NL
                                                  and not in_statement):
                done, in_statement = token.end[0], False
            elif token.type not in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
                in_statement = True
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        return done
    return text.count("\n")


def code_statistics(texts, prompts=None):
    """PEP8 and syntax statistics of samples, each cut to its complete lines.

    `prompts`: for continued prompts, each text's prompt (the text starts with it). The
    whole text is scored and parsed; the continuation's lines are the ones counted as
    tokenizing. A sample is empty when its continuation has no complete non-blank line:
    it counts as not parsing, not E9-free and with no line that tokenizes.

    Returns dict(samples, lines, line_share: {code: share of all lines with the code},
    bad_line_share (lines with any violation), no_e9_share (samples without E9xx),
    parse_share (samples `ast.parse` accepts), tokenizing_line_share (the mean over
    samples of the share of continuation lines before `tokenizing_lines`' error; 0 for
    an empty sample), empty_samples, empty_share).
    """
    prompts = [""] * len(texts) if prompts is None else list(prompts)
    if len(prompts) != len(texts):
        raise ValueError(f"code_statistics: {len(prompts)} prompts for {len(texts)} texts")
    line_counts = collections.Counter()
    lines = bad_lines = no_e9 = parsed = empty = 0
    tokenizing = 0.0
    for text, prompt in zip(texts, prompts):
        if not text.startswith(prompt):
            raise ValueError(f"code_statistics: text {text[:40]!r} does not start with its "
                             f"prompt {prompt[:40]!r}")
        text = complete_lines(text)
        per_line = pep8_codes_per_line(text)
        lines += len(per_line)
        bad_lines += sum(1 for codes in per_line if codes)
        for codes in per_line:
            line_counts.update(set(codes))
        prompt_lines = prompt.count("\n")
        continuation_lines = text.count("\n") - prompt_lines
        if not "".join(text.splitlines(keepends=True)[prompt_lines:]).strip():
            empty += 1
            continue
        no_e9 += not any(code.startswith("E9") for codes in per_line for code in codes)
        parsed += parses(text)
        tokenizing += max(tokenizing_lines(text) - prompt_lines, 0) / continuation_lines
    n = max(len(texts), 1)
    return {"samples": len(texts), "lines": lines,
            "line_share": {code: count / max(lines, 1)
                           for code, count in line_counts.most_common()},
            "bad_line_share": bad_lines / max(lines, 1),
            "no_e9_share": no_e9 / n, "parse_share": parsed / n,
            "tokenizing_line_share": tokenizing / n, "empty_samples": empty,
            "empty_share": empty / n}


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
