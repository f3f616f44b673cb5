"""tools/phf_compare.py: pycodestyle codes counted and grouped as the report shows them."""

import sys


def test_code_counts_and_groups(repo_root):
    sys.path.insert(0, str(repo_root / "tools"))
    import phf_compare  # pylint: disable=import-outside-toplevel

    # E225: missing whitespace around '='; E111: indentation not a multiple of four;
    # E113: unexpected indentation; E901: the unterminated triple-quoted string
    texts = ["x=1\n", "if x:\n   y = 2\n", "  z = 3\n", 's = """abc\n']
    counts = phf_compare.code_counts(texts)
    assert counts == {"chars": sum(map(len, texts)),
                      "counts": {"E225": 1, "E111": 2, "E113": 1, "E901": 1}}
    assert phf_compare.code_groups(counts["counts"]) == (1, 3, 1)
    assert phf_compare.code_groups({"E901": 2, "E113": 1, "E501": 3, "W391": 1}) == (2, 1, 4)
