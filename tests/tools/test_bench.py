"""tools/bench.py and tools/peer_tfllm.py on a tiny workload: the JSON line has its fields."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

TINY = ["--vocab", "64", "--layers", "1", "--hidden", "32", "--heads", "2",
        "--intermediate", "64", "--max-length", "16", "--warmup", "1", "--steps", "2", "--json"]


def run_bench(repo_root, *argv):
    result = subprocess.run([sys.executable, str(repo_root / "tools" / "bench.py"), *argv],
                            capture_output=True, text=True, timeout=300, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def import_bench():
    sys.path.insert(0, str(pathlib.Path(__file__).parents[2] / "tools"))
    import bench

    return bench


@pytest.mark.parametrize("task,extra,fields", [
    ("train", ["--batch", "2", "--seq", "8"],
     ("step_s", "first_step_s", "loss_first", "flops_per_token", "params")),
    ("train", ["--batch", "2", "--seq", "8", "--precision", "mixed_bfloat16"],
     ("step_s", "precision")),
    ("generate", ["--batch", "2", "--prompt-len", "4", "--new-tokens", "6"],
     ("run_s", "first_run_s", "new_tokens_per_s", "first_tokens")),
    ("data", ["--batch", "2", "--seq", "16"], ("first_batch_s", "batches_per_s")),
])
def test_bench_prints_one_json_line_with_fields(repo_root, task, extra, fields):
    record = run_bench(repo_root, "--task", task, *TINY, *extra)
    assert record["task"] == task and record["peer"] == "tfllm"
    assert record["tokens_per_s"] > 0
    assert record["intra_threads"] == 2 and record["inter_threads"] == 1
    for field in fields:
        assert field in record, field
    if "--precision" in extra:  # oneDNN's bfloat16 products: a graph, not one XLA program
        assert record["precision"] == "mixed_bfloat16"
        assert record["step"].startswith("tf.function(jit_compile=False)")
    if task == "data":
        assert record["num_batches"] == 2 and record["sequence_length"] == 16
        return
    timing = record["step_s" if task == "train" else "run_s"]
    assert timing["n"] == 2 and timing["min"] <= timing["median"] <= timing["max"]


def test_bench_defaults_are_the_shared_workload():
    bench = import_bench()

    args = bench.parse_args(["--task", "train"])
    assert (args.vocab, args.layers, args.hidden, args.heads, args.intermediate,
            args.max_length, args.batch, args.seq, args.warmup, args.steps) == (
        8192, 4, 256, 4, 1024, 256, 8, 256, 3, 10)
    assert args.activation == "gelu_tanh" and not args.untied
    gen = bench.parse_args(["--task", "generate"])
    assert (gen.batch, gen.prompt_len, gen.new_tokens, gen.warmup, gen.steps) == (8, 32, 224, 1, 5)
    assert bench.build_model(args).count_params() == 5_322_240


@pytest.mark.parametrize("task,extra", [
    ("train", ["--batch", "2", "--seq", "8"]),
    ("generate", ["--batch", "2", "--prompt-len", "4", "--new-tokens", "6"]),
])
def test_profile_ops_names_the_costliest_xla_ops(repo_root, task, extra):
    record = run_bench(repo_root, "--task", task, *TINY, *extra, "--profile-ops", "3")
    profile = record["op_profile"]
    top = profile["top_ms"]
    assert len(top) == 3 and [ms for _, ms in top] == sorted((ms for _, ms in top), reverse=True)
    assert 0 < profile["dot_ms"] < profile["total_ms"] and 0 < profile["dot_share"] < 1
    assert sum(ms for _, ms in top) <= profile["total_ms"] + 1e-9


def test_seed_fixes_the_weights():
    bench = import_bench()

    def weights(seed):
        args = bench.parse_args(["--task", "generate", *TINY, "--seed", str(seed)])
        return bench.build_model(args).get_weights()

    first = weights(3)
    assert all(np.array_equal(a, b) for a, b in zip(weights(3), first))
    assert not all(np.array_equal(a, b) for a, b in zip(weights(4), first))
