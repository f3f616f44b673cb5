"""tools/corpus_stats.py: per-package PEP8 statistics counted by hand."""

import sys


def test_package_rows_and_table(repo_root):
    sys.path.insert(0, str(repo_root / "tools"))
    import corpus_stats  # pylint: disable=import-outside-toplevel

    texts = {"json/decoder.py": "x=1\ny = 2\n",                       # E225 on line 1
             "site-packages/absl/app.py": "if x:\n  y = 1\n  z = 2\n",  # E111 twice
             "site-packages/six.py": "a = 1\n"}
    codes = {"json/decoder.py": [["E225"], []],
             "site-packages/absl/app.py": [[], ["E111"], ["E111"]],
             "site-packages/six.py": [[]]}
    rows = corpus_stats.package_rows(list(texts) + ["missing.py"], codes, texts)
    assert set(rows) == {"stdlib", "absl", "six"}
    assert dict(rows["absl"]) == {"files": 1, "characters": 22, "lines": 3, "violations": 2,
                                  "bad_lines": 2, "code:E111": 2}
    table = corpus_stats.markdown(rows, top=2)
    lines = table.splitlines()
    assert lines[2] == "| absl | 1 | 22 | 0.0909 | 66.7% | E111 66.7% |"
    assert lines[4] == "| 1 other packages | 1 | 6 | 0.0000 | 0.0% |  |"
    assert lines[5] == ("| **all** | 3 | 38 | 0.0789 | 50.0% | E111 33.3%, E225 16.7% |")
