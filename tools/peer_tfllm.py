"""tfllm as a peer of the shared benchmark (../shared/bench): same workload, same record.

    python tools/peer_tfllm.py --bench-dir /path/to/shared/bench --measure train
    python tools/peer_tfllm.py --bench-dir ... --measure train --precision mixed_bfloat16
    python tools/peer_tfllm.py --bench-dir /path/to/shared/bench --measure gen --batch 8

Imports the benchmark's `benchlib` from --bench-dir (or $BENCH_DIR) before
TensorFlow, builds the workload of its config.json with tfllm (tools/bench.py's
measurements) and prints `benchlib.train_record` / `benchlib.gen_record` as one
JSON line, with the CPU usage of the timed region. bench_peers.sh runs it
through the benchmark's harness beside the other peers.
"""

import argparse
import os
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))


def bench_argv(cfg, measure, batch, precision="float32"):
    """tools/bench.py flags reproducing the benchmark config `cfg`."""
    m, t, g = cfg["model"], cfg["train"], cfg["gen"]
    if m["position_embedding"] != "learned" or m["norm"] != "pre_layernorm" or not m["bias"]:
        raise ValueError("peer_tfllm supports the GPT workload (learned positions, pre-LN, "
                         f"biases); config.json model is {m}")
    argv = ["--vocab", m["vocab_size"], "--layers", m["n_layer"], "--hidden", m["d_model"],
            "--heads", m["n_head"], "--intermediate", m["d_mlp"], "--max-length", m["max_len"],
            "--activation", m["activation"], "--seed", cfg["seed"]]
    if not m["tied_embeddings"]:
        argv.append("--untied")
    if measure == "train":
        argv += ["--task", "train", "--batch", t["batch"], "--seq", t["seq"],
                 "--warmup", t["warmup_steps"], "--steps", t["timed_steps"],
                 "--data-batches", t["n_data_batches"], "--lr", t["lr"], "--beta1", t["beta1"],
                 "--beta2", t["beta2"], "--eps", t["eps"], "--weight-decay", t["weight_decay"],
                 "--precision", precision]
    else:
        argv += ["--task", "generate", "--batch", batch, "--prompt-len", g["prompt_len"],
                 "--new-tokens", g["new_tokens"], "--warmup", g["warmup_runs"],
                 "--steps", g["timed_runs"]]
    return [str(a) for a in argv]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-dir", default=os.environ.get("BENCH_DIR"),
                    help="folder holding benchlib.py and config.json")
    ap.add_argument("--measure", choices=("train", "gen"), required=True)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32",
                    help="train: float32 (XLA) or float32 weights with bfloat16 products")
    args = ap.parse_args()
    if not args.bench_dir or not os.path.isfile(os.path.join(args.bench_dir, "benchlib.py")):
        raise SystemExit(f"--bench-dir {args.bench_dir!r} holds no benchlib.py")
    sys.path.insert(0, os.path.abspath(args.bench_dir))
    import benchlib as B  # thread env before TensorFlow loads

    sys.path.insert(0, TOOLS)
    import bench

    batch = args.batch or B.CFG["gen"]["batch"]
    opts = bench.parse_args(bench_argv(B.CFG, args.measure, batch, args.precision))
    bench.set_threads(B.intra_threads(), B.inter_threads())
    import tensorflow as tf

    meter = B.CpuMeter()
    if args.measure == "train":
        times, extra = bench.measure_train(opts, meter)
        variant = "xla" if args.precision == "float32" else "bf16"
        record = B.train_record("tfllm", variant, times, {
            "first_step_s": extra["first_step_s"], "loss_first": extra["loss_first"],
            "loss_last": extra["loss_last"], "precision": args.precision,
            "step": extra["step"]})
    else:
        times, extra = bench.measure_generate(opts, meter)
        record = B.gen_record("tfllm", "xla", batch, times, {
            "first_run_s": extra["first_run_s"], "first_tokens": extra["first_tokens"],
            "sampler": extra["sampler"]})
    if extra["params"] != B.param_count():
        raise SystemExit(f"tfllm model has {extra['params']} parameters, the workload "
                         f"{B.param_count()}")
    record["cpu_usage"] = meter.stop()
    record["versions"] = {"tensorflow": tf.__version__}
    B.emit(record)


if __name__ == "__main__":
    main()
