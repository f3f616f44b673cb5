"""Input pipeline throughput: tokenize + pack + batch through tf.data."""

import time

from tfllm.data import lm


def measure_throughput(tokenizer, documents, sequence_length, batch_size, num_batches,
                       seed=0, **lm_options):
    """Tokens per second that `make_lm_dataset` delivers (tokenizing on the fly).

    The first batch (pipeline construction, tracing, buffer fill) is timed apart as
    `first_batch_s`; `tokens_per_s` counts the next `num_batches` batches of
    `batch_size * sequence_length` input tokens.

    Args:
        documents: anything `make_lm_dataset` accepts (e.g. a corpora.Corpus).
        **lm_options: more `make_lm_dataset` arguments (e.g. control_hook).

    Returns:
        dict(tokens_per_s, batches_per_s, seconds, first_batch_s, num_batches,
        batch_size, sequence_length, tokenizer).
    """
    if num_batches < 1:
        raise ValueError(f"num_batches must be >= 1, got {num_batches}")
    start = time.perf_counter()
    dataset = lm.make_lm_dataset(documents, tokenizer, sequence_length, batch_size,
                                 seed=seed, repeat=True, **lm_options)
    iterator = iter(dataset)
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
