import re

import pycodestyle

from tfllm.feedback.pycodestyle_counts import pep8_violation_codes, pep8_violations_per_line


def _reference_total(source):
    style = pycodestyle.StyleGuide(quiet=True, config_file=False)
    lines = re.findall(r"[^\n]*\n|[^\n]+", source)  # "\n"-lines, as pycodestyle reads files
    return pycodestyle.Checker(lines=lines, options=style.options).check_all()


def test_hand_counted_lines():
    assert pep8_violations_per_line("x=1\ny = 2\n") == [1, 0]  # E225
    assert pep8_violations_per_line("def f( x ):\n  return x") == [2, 2]  # E201 E202 / E111 W292
    assert pep8_violations_per_line("") == []
    long_line = "y = '" + "a" * 80 + "'\n"
    assert pep8_violations_per_line(long_line) == [1]  # E501


def test_violation_codes_hand_counted():
    assert pep8_violation_codes("def f( x ):\n  return x") == {
        "E201": 1, "E202": 1, "E111": 1, "W292": 1}
    assert pep8_violation_codes("x = 1\n") == {}


def test_counts_align_with_splitlines_and_match_total():
    source = "import os\nx=1 \n\x0cdef f():\n\treturn 1\n\n\n\n"
    counts = pep8_violations_per_line(source)
    assert len(counts) == len(source.splitlines(keepends=True))
    assert sum(counts) == _reference_total(source)
    assert counts[1] == 2  # E225, W291


def test_real_module_total_matches_pycodestyle():
    import textwrap
    source = open(textwrap.__file__, encoding="utf-8").read()
    counts = pep8_violations_per_line(source)
    assert len(counts) == len(source.splitlines())
    assert sum(counts) == _reference_total(source)


def test_lone_string_prefix_line_does_not_crash():
    # pycodestyle 2.15 itself raises IndexError on the logical line `b`; the other lines
    # keep their counts: `import sys` after code is E402.
    assert pep8_violations_per_line("import os\nb\nimport sys\n") == [0, 0, 1]


def test_a_crashing_pycodestyle_check_counts_as_one_violation():
    source = "\\\n\n\\\n}[['    =:\\\nif"  # continued_indentation: IndexError
    counts = pep8_violations_per_line(source)
    assert len(counts) == len(source.splitlines(keepends=True))
    assert pep8_violation_codes(source)["E999"] == 1
