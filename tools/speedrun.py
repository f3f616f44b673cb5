"""The speedrun: train a recipe until validation bits per byte reach a target.

    python tools/bench.py --task=speedrun --data=DIR --target_bpb=X [--recipe=tfllm]

The data folder (e.g. what the benchmark's speedrun/make_data.py writes) holds
`train.bin` and `val.bin`: raw UTF-8 bytes, documents joined by one 0x00 byte.

Metric: bits per byte of the first `eval_bytes` (65,536) bytes of val.bin. Those bytes are
encoded with the recipe's tokenizer (losslessly: decoding gives them back), the tokens
are cut into non-overlapping windows of the model's sequence length, each token is
predicted from the tokens before it in its window (the first window's first token from
the document separator), and the summed cross-entropy is divided by eval_bytes * ln 2.
Training batches are windows at random offsets of the encoded train.bin (numpy seed
`training.seed`). Time counts the training steps only (the first step's compilation
included; batch assembly, tokenizer training, encoding and evaluation excluded); the
tokenizer's and the encoding's seconds are reported beside it.
"""

import math
import os
import sys
import time

import numpy as np

SEPARATOR = "\x00"
RECIPES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs",
                       "speedrun.py")


def load_recipe(name):
    """The ConfigDict of recipe `name` in configs/speedrun.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tfllm_speedrun_recipes", RECIPES)
    recipes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipes)
    try:
        return recipes.get_config(name)
    except ValueError as error:
        raise SystemExit(f"bench.py --recipe: {error}") from None


def read_documents(path, limit=None):
    """The documents of a .bin file (UTF-8 text joined by 0x00), each with its separator.

    `limit`: read only the first `limit` bytes (the last document is cut there).
    """
    if not os.path.isfile(path):
        raise SystemExit(f"speedrun: {path} does not exist (the data folder needs train.bin "
                         f"and val.bin)")
    with open(path, "rb") as f:
        data = f.read() if limit is None else f.read(limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SystemExit(f"speedrun: {path}: not UTF-8 at byte {error.start}") from None
    parts = text.split(SEPARATOR)
    documents = [part + SEPARATOR for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return documents, len(data)


def make_tokenizer(config, documents):
    """The recipe's tokenizer: bytes, or sentencepiece trained on a sample of the documents."""
    from tfllm.tokenizers import Tokenizer

    t = config.tokenizer
    if t.kind == "byte":
        return Tokenizer.train([], None, kind="byte")
    order = np.random.default_rng(config.training.seed).permutation(len(documents))
    sample, size = [], 0
    for i in order:
        if size >= t.sample_bytes:
            break
        sample.append(documents[i])
        size += len(documents[i])
    return Tokenizer.train(sample, t.vocabulary_size, kind=t.kind, **dict(t.options))


def encode(tokenizer, documents, batch=64):
    """One int32 array of the documents' tokens, in order."""
    ids = []
    for i in range(0, len(documents), batch):
        ids.extend(np.asarray(row, np.int32) for row in tokenizer.encode(documents[i:i + batch]))
    return np.concatenate(ids) if ids else np.zeros((0,), np.int32)


def validation_windows(tokens, context_id, length):
    """(inputs, labels, mask), each (windows, length): every token of `tokens` is a label
    once, predicted from the tokens before it in its window; the first from `context_id`."""
    inputs = np.concatenate([[context_id], tokens[:-1]]).astype(np.int32)
    windows = -(-len(tokens) // length)
    pad = windows * length - len(tokens)
    mask = np.concatenate([np.ones(len(tokens), np.float32), np.zeros(pad, np.float32)])
    shape = (windows, length)
    return (np.pad(inputs, (0, pad)).reshape(shape), np.pad(tokens, (0, pad)).reshape(shape),
            mask.reshape(shape))


def bits_per_byte(model, windows, token_byte_lengths, eval_bytes, batch=32):
    """tfllm.evaluation's bits per byte of `model` on `validation_windows`; the labels must
    cover exactly `eval_bytes` bytes."""
    import tensorflow as tf

    from tfllm.evaluation.lm_metrics import evaluate_lm

    inputs, labels, mask = windows
    batches = tf.data.Dataset.from_tensor_slices({
        "token_ids": inputs, "labels": labels, "padding_mask": mask > 0,
        "loss_mask": mask}).batch(batch)
    metrics = evaluate_lm(model, batches, token_byte_lengths=token_byte_lengths)
    if metrics["bytes"] != eval_bytes:
        raise SystemExit(f"speedrun: the validation labels cover {metrics['bytes']} bytes, "
                         f"not {eval_bytes}")
    return metrics["bits_per_byte"]


def build(config, vocabulary_size):
    """(model, optimizer) of the recipe, under its precision policy and seed."""
    import keras

    from tfllm.models import DecoderLM
    from tfllm.training.schedules import WarmupDecay, make_optimizer

    keras.mixed_precision.set_dtype_policy(config.training.precision)
    keras.utils.set_random_seed(config.training.seed)
    model = DecoderLM(vocabulary_size=vocabulary_size, **dict(config.model))
    s, o = config.schedule, config.optimizer
    schedule = WarmupDecay(s.peak_learning_rate, s.warmup_steps, s.decay_steps, s.decay,
                           s.final_fraction, s.cooldown_fraction)
    optimizer = make_optimizer(schedule, o.weight_decay, o.beta_1, o.beta_2, o.epsilon,
                               kind=o.kind)
    return model, optimizer


def run(config, data, target_bpb, eval_bytes, make_train_step):
    """Trains `config` (a configs/speedrun.py recipe) on `data` until `target_bpb`.

    `make_train_step(model, optimizer, clip_norm)` returns the compiled step
    (token_ids, labels) -> loss. Returns the JSON record.
    """
    t = config.training
    start = time.perf_counter()
    train_documents, train_bytes = read_documents(os.path.join(data, "train.bin"))
    val_documents, val_bytes = read_documents(os.path.join(data, "val.bin"), eval_bytes)
    if val_bytes < eval_bytes:
        raise SystemExit(f"speedrun: {data}/val.bin has {val_bytes} bytes, fewer than "
                         f"eval_bytes={eval_bytes}")
    tokenizer = make_tokenizer(config, train_documents)
    tokenizer_s = time.perf_counter() - start
    start = time.perf_counter()
    train_ids = encode(tokenizer, train_documents)
    val_ids = encode(tokenizer, val_documents)
    if tokenizer.decode(val_ids.tolist()) != "".join(val_documents):
        raise SystemExit("speedrun: the tokenizer does not give the validation bytes back")
    encode_s = time.perf_counter() - start
    context_id = int(encode(tokenizer, [SEPARATOR])[-1])
    windows = validation_windows(val_ids, context_id, t.sequence_length)

    model, optimizer = build(config, tokenizer.vocabulary_size)
    step = make_train_step(model, optimizer, t.clip_norm)
    byte_lengths = tokenizer.token_byte_lengths()
    rng = np.random.default_rng(t.seed)
    length = t.sequence_length
    curve, train_s, reached, steps = [], 0.0, None, 0
    for steps in range(1, t.max_steps + 1):
        starts = rng.integers(0, len(train_ids) - length - 1, size=t.batch_size)
        x = np.stack([train_ids[s:s + length] for s in starts])
        y = np.stack([train_ids[s + 1:s + length + 1] for s in starts])
        t0 = time.perf_counter()
        loss = float(step(x, y))
        train_s += time.perf_counter() - t0
        if not math.isfinite(loss):
            raise SystemExit(f"speedrun: non-finite training loss at step {steps}")
        if steps % t.eval_every == 0 or steps == t.max_steps:
            bpb = bits_per_byte(model, windows, byte_lengths, eval_bytes)
            curve.append([steps, round(train_s, 2), round(bpb, 4)])
            print(f"step {steps} train_s {train_s:.1f} val_bpb {bpb:.4f} loss {loss:.4f}",
                  flush=True, file=sys.stderr)
            if bpb <= target_bpb:
                reached = train_s
                break
    tokens = steps * t.batch_size * length
    return {
        "target_bpb": target_bpb, "train_seconds_to_target": reached, "steps": steps,
        "tokens_trained": tokens,
        "bytes_trained": round(tokens * train_bytes / len(train_ids)),
        "bytes_per_token_val": eval_bytes / len(val_ids), "final_val_bpb": curve[-1][2],
        "curve": curve, "train_seconds": train_s, "tokenizer_seconds": tokenizer_s,
        "encode_seconds": encode_s, "train_bytes": train_bytes, "eval_bytes": eval_bytes,
        "vocabulary_size": tokenizer.vocabulary_size, "params": model.count_params(),
        "recipe": config.to_dict()}
