#!/usr/bin/env python3
"""Measures tfllm's Trainer on the workload of `tools/bench.py --task=train`; prints one JSON line.

    python tools/bench_trainer.py --json                          # one device
    python tools/bench_trainer.py --strategy=mirrored --json      # 2 logical CPU devices

Same model, batch, random-token data, AdamW settings and thread counts as bench.py (its
flags are accepted too); the step is the Trainer's own (mle objective, distributed step,
host loop with the NaN guard and logging). Step time: the interval between consecutive
training steps (host loop included), median over the timed steps after warm-up.
"""

import argparse
import json
import os
import sys
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.dirname(TOOLS))

import bench  # noqa: E402  (tools/bench.py: workload flags, model, threads)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strategy", choices=("one_device", "mirrored"), default="one_device")
    ap.add_argument("--cpu-devices", type=int, default=2,
                    help="logical CPU devices for --strategy=mirrored")
    own, rest = ap.parse_known_args(argv)
    args = bench.parse_args(["--task=train", *rest])
    args.strategy, args.cpu_devices = own.strategy, own.cpu_devices
    return args


def random_batches(args):
    """bench.py's random-token data as repeated LM batches (ARCHITECTURE.md keys)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(args.seed)
    data = rng.integers(0, args.vocab, size=(args.data_batches, args.batch, args.seq + 1))
    data = data.astype(np.int32)
    ones = np.ones(data[:, :, 1:].shape)
    return tf.data.Dataset.from_tensor_slices({
        "token_ids": data[:, :, :-1], "labels": data[:, :, 1:],
        "padding_mask": ones.astype(bool), "loss_mask": ones.astype(np.float32)}).repeat()


def measure(args):
    """Median step time of Trainer.train on the bench workload; returns the JSON record."""
    import keras

    from tfllm.objectives import get_objective
    from tfllm.training import Trainer, make_strategy, resolve_jit_compile

    # Before the strategy starts TensorFlow's runtime, which reads TF_XLA_FLAGS once.
    resolve_jit_compile("auto", "bfloat16" if args.precision == "mixed_bfloat16" else "float32")
    strategy = make_strategy(args.strategy, num_cpu_devices=args.cpu_devices
                             if args.strategy == "mirrored" else 0)
    trainer = Trainer(
        lambda: bench.build_model(args), get_objective("mle"), random_batches(args),
        lambda: keras.optimizers.AdamW(
            learning_rate=args.lr, beta_1=args.beta1, beta_2=args.beta2, epsilon=args.eps,
            weight_decay=args.weight_decay),
        total_steps=args.warmup + args.steps, strategy=strategy, log_every=10,
        progress=False)
    starts = []
    step = trainer._train_step

    def timed_step(*a):
        starts.append(time.perf_counter())
        return step(*a)

    trainer._train_step = timed_step
    result = trainer.train()
    starts.append(time.perf_counter())  # end of the last step's host work
    times = [b - a for a, b in zip(starts, starts[1:])][args.warmup:]
    tokens = args.batch * args.seq
    st = bench.stats(times)
    return {"measure": "trainer", "strategy": args.strategy,
            "replicas": strategy.num_replicas_in_sync, "batch": args.batch, "seq": args.seq,
            "tokens_per_step": tokens, "step_s": st, "tokens_per_s": tokens / st["median"],
            "tokens_per_s_best": tokens / st["min"], "loss_last": result["train/loss"],
            "intra_threads": args.intra_threads, "inter_threads": args.inter_threads}


def main(argv=None):
    args = parse_args(argv)
    bench.set_threads(args.intra_threads, args.inter_threads)
    record = measure(args)
    if not args.json:
        print(f"trainer ({record['strategy']}): {record['tokens_per_s']:.0f} tokens/s, "
              f"median step {record['step_s']['median'] * 1e3:.1f} ms", file=sys.stderr)
    print(json.dumps(record))


if __name__ == "__main__":
    main()
