"""tools/code_sweep.py and configs/code_sweep.py: budgets as steps at the measured rates,
the 60-minute size rule, the report, and finished runs and recorded rows kept on a rerun."""

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
    record = sweep.run("M", 7.5, str(tmp_path), str(tmp_path / "no_tokenizer"))
    assert not calls
    assert record["bits_per_character"] == 1.5 and record["params"] == 7
    assert record["tokens_trained"] == 1074 * 16 * 256


def test_rows_of_the_report_are_kept_and_the_rest_trained(sweep, tmp_path, monkeypatch):
    out = tmp_path / "results"
    kept = dict(size="S", minutes=7.5, bits_per_character=1.6, params=2e6, steps=1769)
    outside_only = dict(kept, size="L", minutes=30)
    sweep.write_report([outside_only, kept], str(out))
    trained = []

    def run(size, minutes, root, shared_tokenizer):
        trained.append((size, minutes, shared_tokenizer))
        return dict(kept, size=size, minutes=minutes)

    monkeypatch.setattr(sweep, "run", run)
    sweep.main([f"--root={tmp_path / 'runs'}", f"--out={out}", "--only=M,15;S,7.5;S,15"])
    tokenizer = str(out / "code_sweep_tokenizer")
    assert trained == [("M", 15.0, tokenizer), ("S", 15.0, tokenizer)]
    rows = json.loads((out / "code_sweep.json").read_text())["results"]
    assert [(r["size"], r["minutes"]) for r in rows] == [("S", 7.5), ("S", 15), ("M", 15),
                                                         ("L", 30)]
    assert rows[0] == kept and rows[3] == outside_only


def test_the_first_trained_tokenizer_is_shared(sweep, tmp_path, monkeypatch):
    shared = tmp_path / "results" / "code_sweep_tokenizer"

    def run_binary(module, args):
        workdir = tmp_path / args[1].split("/")[-1]
        if module.endswith("pretrain"):
            if not (workdir / "tokenizer").exists():
                (workdir / "tokenizer").mkdir(parents=True)
                (workdir / "tokenizer" / "spm.model").write_text(workdir.name)
        else:
            (workdir / "eval").mkdir()
            (workdir / "eval" / "metrics.json").write_text("{}")

    monkeypatch.setattr(sweep, "run_binary", run_binary)
    monkeypatch.setattr(sweep, "checkpoint_step", lambda path: 1)
    monkeypatch.setattr(sweep, "train_seconds", lambda path: 1.0)
    monkeypatch.setattr("tfllm.experiment.load_model",
                        lambda path: type("M", (), {"count_params": lambda self: 7})())
    for size in ("S", "M"):
        sweep.run(size, 15, str(tmp_path), str(shared))
    assert (shared / "spm.model").read_text() == "S_15"
    assert (tmp_path / "M_15" / "tokenizer" / "spm.model").read_text() == "S_15"
