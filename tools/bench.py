"""Measures tfllm throughput on the shared peer workload; prints one JSON line.

    python tools/bench.py --task=train --json       # compiled fwd+bwd+AdamW step
    python tools/bench.py --task=train --precision=mixed_bfloat16 --json  # bf16 products
    python tools/bench.py --task=generate --json    # greedy KV-cache generation, batch 8
    python tools/bench.py --task=generate --batch 1 --json
    python tools/bench.py --task=data --json        # tfllm.data pipeline throughput
    python tools/bench.py --task=generate --profile-ops=20 --json   # + where a call goes
    python tools/bench.py --task=speedrun --data=DIR --target_bpb=1.9 --json  # time to a loss

Defaults come from tools/bench_config.json (a copy of the peer benchmark's
workload: GPT vocab 8192, 4 layers, d 256, 4 heads, MLP 1024 gelu_tanh, seq 256,
tied embeddings); every field has a flag. train reports tokens/s from the median
of the timed steps after warm-up; generate reports new tokens/s from the median
of the timed calls (prefill included) after warm-up calls (compile included).
--profile-ops=K traces one more step/call with the TensorFlow profiler and adds the
K costliest XLA operations (names of the optimized HLO, as XLA_FLAGS=--xla_dump_to
writes it) with their milliseconds, and the share spent in matmuls ("op_profile").
speedrun trains a recipe of configs/speedrun.py on a data folder until the validation
bits per byte reach --target_bpb (tools/speedrun.py says how it measures); the workload
flags do not apply to it (its recipe sets the precision).
--precision=mixed_bfloat16 trains with float32 weights and bfloat16 products, compiled as
the Trainer's jit_compile="auto" does (tfllm.training.compilation: oneDNN matmuls, XLA
clusters of the ops between them).
"""

import argparse
import itertools
import json
import os
import statistics
import sys
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
CONFIG_PATH = os.path.join(TOOLS, "bench_config.json")
sys.path.insert(0, os.path.dirname(TOOLS))  # the checkout's tfllm, also when not installed


def load_config(path=CONFIG_PATH):
    with open(path) as f:
        return json.load(f)


def parse_args(argv=None):
    cfg = load_config()
    m, t, g, th = cfg["model"], cfg["train"], cfg["gen"], cfg["threads"]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=("train", "generate", "data", "speedrun"), required=True)
    ap.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    ap.add_argument("--profile-ops", type=int, default=0, metavar="K",
                    help="add the K costliest XLA ops of one more traced step/call")
    ap.add_argument("--vocab", type=int, default=m["vocab_size"])
    ap.add_argument("--layers", type=int, default=m["n_layer"])
    ap.add_argument("--hidden", type=int, default=m["d_model"])
    ap.add_argument("--heads", type=int, default=m["n_head"])
    ap.add_argument("--intermediate", type=int, default=m["d_mlp"])
    ap.add_argument("--max-length", type=int, default=m["max_len"])
    ap.add_argument("--activation", default=m["activation"])
    ap.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32",
                    help="train: the Keras dtype policy of the model")
    ap.add_argument("--untied", action="store_true", default=not m["tied_embeddings"])
    ap.add_argument("--batch", type=int, default=None,
                    help=f"batch size (train {t['batch']}, generate {g['batch']})")
    ap.add_argument("--seq", type=int, default=t["seq"])
    ap.add_argument("--warmup", type=int, default=None,
                    help=f"untimed steps/calls (train {t['warmup_steps']}, "
                         f"generate {g['warmup_runs']})")
    ap.add_argument("--steps", type=int, default=None,
                    help=f"timed steps/calls (train {t['timed_steps']}, "
                         f"generate {g['timed_runs']})")
    ap.add_argument("--data-batches", type=int, default=t["n_data_batches"])
    ap.add_argument("--lr", type=float, default=t["lr"])
    ap.add_argument("--beta1", type=float, default=t["beta1"])
    ap.add_argument("--beta2", type=float, default=t["beta2"])
    ap.add_argument("--eps", type=float, default=t["eps"])
    ap.add_argument("--weight-decay", type=float, default=t["weight_decay"])
    ap.add_argument("--prompt-len", type=int, default=g["prompt_len"])
    ap.add_argument("--new-tokens", type=int, default=g["new_tokens"])
    ap.add_argument("--intra-threads", type=int,
                    default=int(os.environ.get("BENCH_INTRA_THREADS", th["intra_op"])))
    ap.add_argument("--inter-threads", type=int,
                    default=int(os.environ.get("BENCH_INTER_THREADS", th["inter_op"])))
    ap.add_argument("--seed", type=int, default=None,
                    help=f"weights and data (default {cfg['seed']}; speedrun: the recipe's)")
    ap.add_argument("--data", help="speedrun: folder with train.bin and val.bin")
    ap.add_argument("--target_bpb", type=float, default=0.0,
                    help="speedrun: stop at this validation bits/byte (0: run max_steps)")
    ap.add_argument("--recipe", default="tfllm", help="speedrun: a recipe of configs/speedrun.py")
    ap.add_argument("--max_steps", type=int, default=0,
                    help="speedrun: step budget (and cosine length), instead of the recipe's")
    ap.add_argument("--eval_bytes", type=int, default=65536,
                    help="speedrun: validation bytes scored")
    args = ap.parse_args(argv)
    if args.task == "speedrun" and not args.data:
        ap.error("--task=speedrun needs --data=DIR (train.bin and val.bin)")
    if args.profile_ops and args.task == "data":
        ap.error("--profile-ops profiles the compiled train step or generate call, not --task=data")
    defaults = {"train": (t["batch"], t["warmup_steps"], t["timed_steps"]),
                "generate": (g["batch"], g["warmup_runs"], g["timed_runs"]),
                "data": (t["batch"], 1, 100), "speedrun": (None, None, None)}[args.task]
    if args.seed is None and args.task != "speedrun":
        args.seed = cfg["seed"]
    for name, default in zip(("batch", "warmup", "steps"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


def set_threads(intra, inter):
    """Thread env for BLAS/OpenMP and TF pools; call before TensorFlow runs an op."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(intra))
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)


def stats(xs):
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs), "n": len(xs)}


def build_model(args):
    """The workload's DecoderLM under `args.precision`, its weights drawn from `args.seed`."""
    import keras

    from tfllm.models import DecoderLM
    from tfllm.training import resolve_jit_compile

    keras.mixed_precision.set_dtype_policy(args.precision)
    # Before any graph runs (TensorFlow reads TF_XLA_FLAGS once), as tfllm's binaries do.
    resolve_jit_compile("auto", keras.mixed_precision.dtype_policy().compute_dtype)
    keras.utils.set_random_seed(args.seed)
    return DecoderLM(vocabulary_size=args.vocab, num_layers=args.layers, num_heads=args.heads,
                     hidden_dim=args.hidden, intermediate_dim=args.intermediate,
                     max_sequence_length=args.max_length, activation=args.activation,
                     tie_embeddings=not args.untied)


def flops_per_token(args, model):
    """6N + 12*L*d*T (N without position embeddings), as the peer benchmark counts."""
    n = model.count_params() - args.max_length * args.hidden
    return 6 * n + 12 * args.layers * args.hidden * args.seq


def make_train_step(model, optimizer, clip_norm=None):
    """The compiled step (token_ids, labels) -> loss: forward, mean cross-entropy,
    gradients (clipped to `clip_norm` global norm if set), optimizer update; XLA for a
    float32 model, oneDNN products for a mixed_bfloat16 one (the Trainer's "auto")."""
    import tensorflow as tf

    from tfllm.training import resolve_jit_compile

    variables = model.trainable_variables
    optimizer.build(variables)

    @tf.function(jit_compile=resolve_jit_compile("auto", model.compute_dtype))
    def step(token_ids, labels):
        with tf.GradientTape() as tape:
            logits = tf.cast(model(token_ids, training=True), tf.float32)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        grads = tape.gradient(loss, variables)
        if clip_norm:
            grads, _ = tf.clip_by_global_norm(grads, clip_norm)
        optimizer.apply(grads, variables)
        return loss

    return step


def timed(fn, warmup, steps, meter=None):
    """(warm-up times, timed times, last result) of calling fn(i).

    `meter` (start()/stop(), e.g. the peer benchmark's CpuMeter) brackets the
    timed calls only.
    """
    warm, times, result = [], [], None
    for i in range(warmup + steps):
        if i == warmup and meter is not None:
            meter.start()
        t0 = time.perf_counter()
        result = fn(i)
        (warm if i < warmup else times).append(time.perf_counter() - t0)
    return warm, times, result


def profile_ops(fn, top):
    """Milliseconds per XLA operation over one call of `fn`, from a profiler trace.

    XLA CPU traces every operation it runs (named as in the optimized HLO) inside a
    "ThunkExecutor::Execute" event, on the calling or a worker thread. Counted: the events
    inside an executor that hold no executor themselves (a while loop's own event holds
    its body's). Returns the total, the part in matmuls (HLO dots: names starting with
    MatMul, dot or Einsum) and the `top` costliest operations.
    """
    import bisect
    import collections
    import glob
    import tempfile

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        try:
            fn()
        finally:
            tf.profiler.experimental.stop()
        (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
    runtime = ("ThunkExecutor::Execute", "SlinkyThreadPool::Await")
    per_op = collections.Counter()
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            spans = sorted((e.offset_ps, e.offset_ps + e.duration_ps) for e in line.events
                           if names.get(e.metadata_id) == runtime[0])
            starts = [start for start, _ in spans]
            outer_end = list(itertools.accumulate((end for _, end in spans), max))
            for event in line.events:
                name = names.get(event.metadata_id, "")
                begin, end = event.offset_ps, event.offset_ps + event.duration_ps
                i = bisect.bisect_right(starts, begin)
                inside = i > 0 and outer_end[i - 1] >= end
                holds_executor = i < len(starts) and starts[i] < end
                if inside and not holds_executor and name not in runtime:
                    per_op[name] += event.duration_ps / 1e9
    if not per_op:
        raise SystemExit("bench.py --profile-ops: the trace has no XLA CPU operations")
    dot_ms = sum(ms for name, ms in per_op.items()
                 if name.startswith(("MatMul", "dot", "Einsum")))
    total = sum(per_op.values())
    return {"total_ms": total, "dot_ms": dot_ms, "dot_share": dot_ms / total,
            "top_ms": [[name, ms] for name, ms in per_op.most_common(top)]}


def measure_train(args, meter=None):
    """Step times of the raw compiled training step; returns (times, extra record)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from tfllm.training import resolve_jit_compile

    model = build_model(args)
    step = make_train_step(model, keras.optimizers.AdamW(
        learning_rate=args.lr, beta_1=args.beta1, beta_2=args.beta2, epsilon=args.eps,
        weight_decay=args.weight_decay))
    rng = np.random.default_rng(args.seed)
    data = rng.integers(0, args.vocab, size=(args.data_batches, args.batch, args.seq + 1))
    batches = [(tf.constant(d[:, :-1], tf.int32), tf.constant(d[:, 1:], tf.int32))
               for d in data]
    losses = []

    def run(i):
        losses.append(float(step(*batches[i % len(batches)])))

    warm, times, _ = timed(run, args.warmup, args.steps, meter)
    tokens = args.batch * args.seq
    fpt = flops_per_token(args, model)
    st = stats(times)
    record = {
        "measure": "train", "batch": args.batch, "seq": args.seq, "tokens_per_step": tokens,
        "step_s": st, "tokens_per_s": tokens / st["median"],
        "tokens_per_s_best": tokens / st["min"], "flops_per_token": fpt,
        "model_flops_per_s": tokens / st["median"] * fpt,
        "first_step_s": warm[0] if warm else None, "loss_first": losses[0],
        "loss_last": losses[-1], "params": model.count_params(),
        "precision": args.precision,
        "step": f"tf.function(jit_compile={resolve_jit_compile('auto', model.compute_dtype)}):"
                " DecoderLM forward + sparse CE + GradientTape + keras.optimizers.AdamW.apply"}
    if args.profile_ops:
        record["op_profile"] = profile_ops(lambda: float(step(*batches[0])), args.profile_ops)
    return times, record


def measure_generate(args, meter=None):
    """Call times of greedy generate; returns (times, extra record)."""
    import numpy as np

    from tfllm.generation import generate

    model = build_model(args)
    rng = np.random.default_rng(args.seed + 1)
    prompts = rng.integers(0, args.vocab, size=(max(args.batch, 8), args.prompt_len))
    prompts = prompts[:args.batch].astype(np.int32)
    warm, times, out = timed(lambda i: generate(model, prompts, args.new_tokens),
                             args.warmup, args.steps, meter)
    new = args.batch * args.new_tokens
    st = stats(times)
    record = {
        "measure": "gen", "batch": args.batch, "prompt_len": args.prompt_len,
        "new_tokens": args.new_tokens, "run_s": st, "tokens_per_s": new / st["median"],
        "new_tokens_per_s": new / st["median"], "new_tokens_per_s_best": new / st["min"],
        "first_run_s": warm[0] if warm else None, "params": model.count_params(),
        "first_tokens": out[0, args.prompt_len:args.prompt_len + 8].tolist(),
        "sampler": "greedy, tfllm.generation.generate (XLA prefill + while_loop, KV cache)"}
    if args.profile_ops:
        record["op_profile"] = profile_ops(lambda: generate(model, prompts, args.new_tokens),
                                           args.profile_ops)
    return times, record


def measure_data(args, meter=None):
    """Throughput of the tfllm.data pipeline (tfllm.data.benchmark.measure_throughput)."""
    try:
        from tfllm.data.benchmark import measure_throughput
    except ImportError as error:
        raise SystemExit(f"bench.py --task=data: tfllm.data.benchmark.measure_throughput is "
                         f"not available ({error})") from None
    result = dict(measure_throughput(batch_size=args.batch, sequence_length=args.seq,
                                     num_batches=args.steps, warmup_batches=args.warmup))
    result["measure"] = "data"
    return None, result


def measure_speedrun(args, meter=None):
    """Time to --target_bpb of a configs/speedrun.py recipe (tools/speedrun.py)."""
    import speedrun

    config = speedrun.load_recipe(args.recipe)
    if config.training.precision == "mixed_bfloat16":  # before any graph runs
        from tfllm.training import cluster_fusible_ops

        cluster_fusible_ops()
    if args.max_steps:
        config.training.max_steps = args.max_steps
        config.schedule.decay_steps = args.max_steps
    if args.seed is not None:
        config.training.seed = args.seed
    record = speedrun.run(config, args.data, args.target_bpb, args.eval_bytes, make_train_step)
    return None, {"measure": "speedrun", "recipe_name": args.recipe, **record}


def main(argv=None):
    args = parse_args(argv)
    set_threads(args.intra_threads, args.inter_threads)
    import tensorflow as tf

    import tfllm

    measure = {"train": measure_train, "generate": measure_generate, "data": measure_data,
               "speedrun": measure_speedrun}
    _, record = measure[args.task](args)
    record = {"peer": "tfllm", "task": args.task, **record,
              "intra_threads": tf.config.threading.get_intra_op_parallelism_threads(),
              "inter_threads": tf.config.threading.get_inter_op_parallelism_threads(),
              "versions": {"tfllm": tfllm.__version__, "tensorflow": tf.__version__}}
    if not args.json:
        print(f"{args.task}: {record.get('tokens_per_s', float('nan')):.1f} tokens/s",
              file=sys.stderr)
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main()
