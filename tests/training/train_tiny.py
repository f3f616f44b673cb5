"""Trains a tiny DecoderLM with the Trainer and saves its final weights (for subprocess tests).

    python train_tiny.py --workdir=DIR --strategy=one_device|mirrored|multi_worker_mirrored
        --steps=N --out=weights.npz [--slow=SECONDS] [--cpu_devices=2] [--compare]
        [--precision=mixed_bfloat16] [--checkpoint_every=N]

`--compare` (with --strategy=mirrored) also trains a one-device copy in the same process
on the first logical CPU and stores both loss trajectories.
"""

import argparse
import json
import os
import time

import numpy as np


def batches(seconds_per_batch, batch=8, length=16, vocabulary=64):
    """Deterministic learnable batches (each odd token repeats the one before it)."""
    import tensorflow as tf

    def generate():
        rng = np.random.default_rng(0)
        while True:
            ids = rng.integers(5, vocabulary, size=(batch, length + 1)).astype("int32")
            ids[:, 1::2] = ids[:, 0:-1:2]
            time.sleep(seconds_per_batch)
            yield {"token_ids": ids[:, :-1], "labels": ids[:, 1:],
                   "padding_mask": np.ones((batch, length), bool),
                   "loss_mask": np.ones((batch, length), np.float32)}

    spec = {"token_ids": tf.TensorSpec((batch, length), tf.int32),
            "labels": tf.TensorSpec((batch, length), tf.int32),
            "padding_mask": tf.TensorSpec((batch, length), tf.bool),
            "loss_mask": tf.TensorSpec((batch, length), tf.float32)}
    return tf.data.Dataset.from_generator(generate, output_signature=spec)


def train(strategy, workdir, steps, slow, accumulation=1, checkpoint_every=2):
    import keras

    from tfllm.models import DecoderLM
    from tfllm.objectives import get_objective
    from tfllm.training import Trainer, WarmupDecay, make_optimizer

    def model():
        keras.utils.set_random_seed(0)
        return DecoderLM.from_preset("tiny", vocabulary_size=64, max_sequence_length=16)

    trainer = Trainer(model, get_objective("mle"), batches(slow),
                      lambda: make_optimizer(WarmupDecay(1e-2, 3, steps), 0.01),
                      total_steps=steps, workdir=workdir, strategy=strategy,
                      accumulation_steps=accumulation, clip_norm=1.0, log_every=1,
                      checkpoint_every_steps=checkpoint_every, progress=False,
                      trace_graph=False)
    result = trainer.train()
    trainer.close()
    return trainer, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir")
    parser.add_argument("--strategy", default="one_device")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--out")
    parser.add_argument("--cpu_devices", type=int, default=0)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--checkpoint_every", type=int, default=2)
    args = parser.parse_args()
    import keras
    import tfllm  # noqa: F401
    import tensorflow as tf

    from tfllm.training import make_strategy, resolve_jit_compile

    keras.mixed_precision.set_dtype_policy(args.precision)
    jit_compile = resolve_jit_compile("auto", keras.mixed_precision.dtype_policy().compute_dtype)

    strategy = make_strategy(args.strategy, num_cpu_devices=args.cpu_devices)
    tf.config.experimental.enable_op_determinism()
    trainer, result = train(strategy, args.workdir, args.steps, args.slow,
                            checkpoint_every=args.checkpoint_every)
    out = {f"w{i}": v.numpy() for i, v in enumerate(trainer.model.weights)}
    if args.compare:
        single = tf.distribute.OneDeviceStrategy("/cpu:0")
        reference, _ = train(single, args.workdir + "_one_device", args.steps, args.slow)
        out.update({f"one_device_w{i}": v.numpy()
                    for i, v in enumerate(reference.model.weights)})
    np.savez(args.out, **out)
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "step": result["step"],
                      "tokens_per_s": result["tokens_per_s"], "jit_compile": jit_compile,
                      "trainer_jit_compile": trainer.jit_compile,
                      "compute_dtype": trainer.model.compute_dtype,
                      "tf_xla_flags": os.environ.get("TF_XLA_FLAGS", "")}))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
