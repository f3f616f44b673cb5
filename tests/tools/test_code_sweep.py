"""tools/code_sweep.py and configs/code_sweep.py: budgets as steps at the measured rates,
the 60-minute size rule, the report, and finished runs kept on a rerun."""

import json
import sys

import pytest


@pytest.fixture
def sweep(repo_root):
    sys.path.insert(0, str(repo_root / "tools"))
    import code_sweep  # pylint: disable=import-outside-toplevel

    return code_sweep


def test_budgets_are_minutes_at_each_shapes_rate(sweep):
    config = sweep.sweep_module()
    for size, rate in config.TOKENS_PER_SECOND.items():
        steps = config.get_config(f"{size},15").training.steps
        assert steps == round(rate * 900 / (16 * 256))
        assert config.get_config(f"{size},7.5").training.steps == pytest.approx(steps / 2, abs=1)
    assert len(config.GRID) == 9 and {m for _, m in config.GRID} == {7.5, 15, 30}
    with pytest.raises(ValueError, match="<size>,<minutes>"):
        config.get_config("XL,15")


def test_sixty_minute_size_and_report(sweep, tmp_path):
    results = [dict(size=s, minutes=m, bits_per_character=b, params=p, steps=10,
                    tokens_trained=40960, train_s=60.0, bits_per_byte=b * 0.9)
               for s, m, b, p in (("S", 30, 1.30, 2e6), ("M", 30, 1.21, 4e6),
                                  ("L", 30, 1.25, 9e6), ("S", 15, 1.1, 2e6))]
    assert sweep.best_size(results, 30) == "M"
    with pytest.raises(SystemExit, match="no 7.5-minute runs"):
        sweep.best_size(results, 7.5)
    table = sweep.markdown(results)
    assert "| M | 30 | 1.2100 | 1.0890 |" in table and table.count("\n") == 6
    sweep.write_report(results, str(tmp_path))
    assert json.loads((tmp_path / "code_sweep.json").read_text())["results"] == results
    assert (tmp_path / "code_sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluated_runs_are_not_trained_again(sweep, tmp_path, monkeypatch):
    workdir = tmp_path / "M_7.5"
    (workdir / "eval").mkdir(parents=True)
    (workdir / "eval" / "metrics.json").write_text(json.dumps({"bits_per_character": 1.5}))
    calls = []
    monkeypatch.setattr(sweep, "run_binary", lambda *args: calls.append(args))
    monkeypatch.setattr(sweep, "checkpoint_step", lambda path: 1074)
    monkeypatch.setattr(sweep, "train_seconds", lambda path: 450.0)
    monkeypatch.setattr("tfllm.experiment.load_model",
                        lambda path: type("M", (), {"count_params": lambda self: 7})())
    record = sweep.run("M", 7.5, str(tmp_path), "")
    assert not calls
    assert record["bits_per_character"] == 1.5 and record["params"] == 7
    assert record["tokens_trained"] == 1074 * 16 * 256
