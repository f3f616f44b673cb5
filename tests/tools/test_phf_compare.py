"""tools/phf_compare.py: pycodestyle codes counted and grouped as the report shows them, and
each run as a config variant with its overrides."""

import sys

import pytest


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


def test_report_rows_intervals_and_ratios(repo_root):
    sys.path.insert(0, str(repo_root / "tools"))
    import phf_compare  # pylint: disable=import-outside-toplevel

    def run(per_char, low, high, loss):
        return {"unconditional/misalignment_per_char": per_char,
                "unconditional/misalignment_per_char_low": low,
                "unconditional/misalignment_per_char_high": high,
                "validation/loss": loss, "tokens_trained": 2048000,
                "violation_codes": {"chars": 1000, "counts": {"E111": 3, "E901": 1}}}

    results = {"mle": run(0.012, 0.01, 0.014, 4.0), "conditional": run(0.004, 0.003, 0.005, 4.04)}
    budget = {"corpus": "python_installed_code", "steps": 2000, "command": "x",
              "corpus_options": {"max_bytes": 32000000},
              "data_codes": {"chars": 100, "counts": {"E501": 1}, "violations_per_char": 0.01,
                             "bad_line_fraction": 0.25}}
    text = phf_compare.markdown(results, budget)
    assert "| conditional | 0.00400 [0.00300, 0.00500] | n/a |" in text
    assert "2,048,000" in text
    assert "- conditional: 3.00x fewer violations/char, validation loss 1.010x" in text
    assert "| conditional | 1000 | 1.00 | 3.00 | 0.00 | E111 3.0, E901 1.0 |" in text
    assert "| (validation data) | 100 | 0.00 | 0.00 | 10.00 | E501 10.0 |" in text


def test_each_run_is_a_config_variant_with_overrides(repo_root, tmp_path):
    sys.path.insert(0, str(repo_root / "tools"))
    import phf_compare  # pylint: disable=import-outside-toplevel

    assert phf_compare.run_spec("mle", "") == "mle"
    assert phf_compare.run_spec("mle", "python_installed_code") == "mle"  # the config's own
    assert phf_compare.run_spec("conditional", "python_stdlib_code") == \
        "conditional,python_stdlib_code"
    stdlib = phf_compare.load_config("conditional,python_stdlib_code")
    assert stdlib.data.corpus == "python_stdlib_code" and dict(stdlib.data.corpus_options) == {}
    assert stdlib.data.control_tokens  # still the conditional objective
    extra = dict(map(phf_compare.parse_override, ["evaluation.num_samples=8", "x.name=abc"]))
    assert extra == {"evaluation.num_samples": 8, "x.name": "abc"}
    root = str(tmp_path)
    assert phf_compare.overrides(100, root, extra, init=root + "/mle_part") == {
        "training.steps": 100, "evaluation.reference_workdir": root + "/mle",
        "training.progress": False, "evaluation.num_samples": 8, "x.name": "abc",
        "init_from": root + "/mle_part"}
    assert "init_from" not in phf_compare.overrides(100, root, {})
    with pytest.raises(SystemExit, match="is not key=value"):
        phf_compare.parse_override("no_equals_sign")
