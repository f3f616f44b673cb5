"""pycodestyle violations counted per line: the one place the PEP8 counting lives.

Used by the PEP8 scorer (tfllm.feedback.pep8) and the `python_stdlib_code` corpus.
"""

import collections
import inspect
import re

import pycodestyle

# Default pycodestyle settings (max line length 79, its default ignore list); no user
# or project config files are read, so counts are reproducible.
_STYLE = pycodestyle.StyleGuide(quiet=True, config_file=False)
_NEWLINE_LINES = re.compile(r"[^\n]*\n|[^\n]+")


def _is_string_literal(line):
    """pycodestyle 2.15's own version raises IndexError on a logical line that is a lone
    string prefix (a line `b`, common in model samples); same answer, no IndexError."""
    if line[:1] in pycodestyle._STRING_PREFIXES:
        line = line[1:]
    return line[:1] in ('"', "'")


pycodestyle._is_string_literal = _is_string_literal


class _PerLineReport(pycodestyle.BaseReport):
    """Collects the physical line number and code of every counted violation."""

    def __init__(self, options):
        super().__init__(options)
        self.line_numbers = []
        self.codes = []

    def error(self, line_number, offset, text, check):
        code = super().error(line_number, offset, text, check)
        if code:
            self.line_numbers.append(line_number)
            self.codes.append(code)
        return code


class _Checker(pycodestyle.Checker):
    """A logical-line check that crashes on malformed code (pycodestyle 2.15's
    continued_indentation raises IndexError on e.g. "\\\n}[[..." from model samples)
    counts as one violation, E999, at the logical line's start, instead of aborting."""

    def run_check(self, check, argument_names):
        if not inspect.isgeneratorfunction(check):
            return super().run_check(check, argument_names)
        try:
            return list(super().run_check(check, argument_names))
        except (IndexError, KeyError, ValueError):
            start = self.tokens[0][2] if self.tokens else (self.line_number, 0)
            return [(start, f"E999 pycodestyle's {check.__name__} check failed here")]


def _check(physical_lines):
    report = _PerLineReport(_STYLE.options)
    _Checker(lines=physical_lines, options=_STYLE.options, report=report).check_all()
    return report


def pep8_violation_codes(source):
    """collections.Counter of the pycodestyle codes found in `source` ("E111": 3, ...)."""
    return collections.Counter(_check(_NEWLINE_LINES.findall(source)).codes)


def pep8_violations_per_line(source):
    """Number of pycodestyle violations on each line of `source`.

    Lines are `source.splitlines(keepends=True)` (they concatenate back to `source`).

    Example:
        pep8_violations_per_line("x=1\\ny = 2\\n") == [1, 0]   # E225 on line 1
    """
    return [len(codes) for codes in pep8_codes_per_line(source)]


def pep8_codes_per_line(source):
    """The pycodestyle codes of each line of `source` ([["E225"], []] for "x=1\\ny = 2\\n").

    Lines are `source.splitlines(keepends=True)`. pycodestyle reads the file split at
    "\\n" only; a violation is counted on the first of the lines that its "\\n"-line
    contains (they differ only for \\r, \\f, \\v, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029
    inside a line). Violations reported past the end (e.g. W391) count on the last line.
    """
    segments = source.splitlines(keepends=True)
    if not segments:
        return []
    physical = _NEWLINE_LINES.findall(source)
    report = _check(physical)
    segment_at = {}
    offset = 0
    for index, segment in enumerate(segments):
        segment_at[offset] = index
        offset += len(segment)
    physical_starts = []
    offset = 0
    for line in physical:
        physical_starts.append(offset)
        offset += len(line)
    codes = [[] for _ in segments]
    for line_number, code in zip(report.line_numbers, report.codes):
        k = min(max(line_number, 1), len(physical)) - 1
        codes[segment_at[physical_starts[k]]].append(code)
    return codes
