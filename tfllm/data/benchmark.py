"""Input pipeline throughput: tokenize + pack + batch through tf.data."""

import time

from tfllm.data import corpora
from tfllm.data import lm
from tfllm.tokenizers.byte import ByteTokenizer


def measure_throughput(tokenizer=None, documents=None, sequence_length=256, batch_size=16,
                       num_batches=100, warmup_batches=1, seed=0, **lm_options):
    """Tokens per second that `make_lm_dataset` delivers (tokenizing on the fly).

    The first `warmup_batches` (pipeline construction, tracing, buffer fill) are timed
    apart as `first_batch_s`; `tokens_per_s` counts the next `num_batches` batches of
    `batch_size * sequence_length` input tokens.

    Args:
        tokenizer: default: the byte tokenizer with `<|good|>`, `<|bad|>`.
        documents: anything `make_lm_dataset` accepts; default: the
            `python_stdlib_code` train split.
        **lm_options: more `make_lm_dataset` arguments (e.g. control_hook).

    Returns:
        dict(tokens_per_s, batches_per_s, seconds, first_batch_s, num_batches,
        batch_size, sequence_length, tokenizer).
    """
    if num_batches < 1:
        raise ValueError(f"num_batches must be >= 1, got {num_batches}")
    if tokenizer is None:
        tokenizer = ByteTokenizer(control_tokens=("<|good|>", "<|bad|>"))
    if documents is None:
        documents = corpora.load("python_stdlib_code", "train")
    start = time.perf_counter()
    dataset = lm.make_lm_dataset(documents, tokenizer, sequence_length, batch_size,
                                 seed=seed, repeat=True, **lm_options)
    iterator = iter(dataset)
    for _ in range(max(warmup_batches, 1)):
        next(iterator)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(num_batches):
        batch = next(iterator)
    batch["token_ids"].numpy()
    seconds = time.perf_counter() - start
    tokens = num_batches * batch_size * sequence_length
    return {"tokens_per_s": tokens / seconds, "batches_per_s": num_batches / seconds,
            "seconds": seconds, "first_batch_s": first, "num_batches": num_batches,
            "batch_size": batch_size, "sequence_length": sequence_length,
            "tokenizer": f"{tokenizer.kind}:{tokenizer.vocabulary_size}"}
