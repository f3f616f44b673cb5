"""Seq2seq evaluation (tfllm-evaluate, evaluation.mode="seq2seq") of a Seq2SeqTransformer
on (source, target) test pairs.

`evaluate(config, model, tokenizer)` decodes the test pairs (`tfllm.experiment.
seq2seq_eval_pairs`: config.data.test_file or corpus, cut to evaluation.max_examples) with
each sampler of config.evaluation and measures, beside a trivial baseline:

- <sampler>/bleu, <sampler>/rougeL: sacrebleu corpus BLEU (0-100) and mean ROUGE-L F
  (`tfllm.evaluation.text_metrics`) of the decoded targets, <sampler>/decode_seconds;
  "bleu" and "rougeL" repeat the first sampler's (the keys of a single `sampler`);
- baseline_<name>/bleu, /rougeL: the same for config.evaluation.baseline's output
  ("function_name": the function's name split into words, for code -> docstring;
  "copy": the source itself; "" or unset: none);
- token_nll, token_nll_shuffled_sources: the teacher-forced mean token NLL of the test
  pairs, and of the same targets with the sources permuted across pairs
  (`source_shuffled_losses`; equal values mean the model ignores its source); None with
  fewer test pairs than one batch (config.training.batch_size);
- samples: the first 5 pairs with the baseline's and each sampler's output.

config.evaluation keys: samplers (a tuple of "greedy" / "beam"; default: (sampler,),
sampler defaulting to "greedy"), num_beams and length_penalty (beam), max_new_tokens,
max_examples (0: all), baseline.
"""

import re
import time

SAMPLERS = ("greedy", "beam")
DECODE_BATCH = 64  # rows decoded per generate call
NUM_SAMPLES = 5  # test pairs shown in "samples"


def function_name_words(source):
    """The trivial code -> docstring baseline: the function's name split into words."""
    match = re.search(r"def\s+(\w+)", source)
    name = match.group(1) if match else ""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)  # HTTPHeader -> HTTP Header
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").split()
    return " ".join(words).capitalize() + "." if words else ""


def copy_source(source):
    """The trivial baseline of translation between close languages: the source itself."""
    return source


BASELINES = {"function_name": function_name_words, "copy": copy_source}


def samplers(evaluation):
    """The samplers of config.evaluation: `samplers` if the config has that field, else
    (`sampler`,), default ("greedy",); anything but a non-empty tuple of "greedy" / "beam"
    is a ValueError naming the field."""
    if "samplers" in evaluation:
        value = tuple(evaluation.samplers or ())
        if not value or any(s not in SAMPLERS for s in value):
            raise ValueError(f"config.evaluation.samplers={value!r}: expected a non-empty "
                             "tuple of 'greedy' and/or 'beam'")
        return value
    sampler = evaluation.get("sampler") or "greedy"
    if sampler not in SAMPLERS:
        raise ValueError(f"config.evaluation.sampler={sampler!r}: expected 'greedy' or "
                         "'beam'")
    return (sampler,)


def baseline(evaluation):
    """The baseline name of config.evaluation ("" for none); an unknown one is a
    ValueError naming the field."""
    name = evaluation.get("baseline", "") or ""
    if name and name not in BASELINES:
        raise ValueError(f"config.evaluation.baseline={name!r}: expected one of "
                         f"{sorted(BASELINES)} or ''")
    return name


def check_config(config):
    """ValueError for a bad config.evaluation (samplers, baseline) before anything runs."""
    samplers(config.evaluation)
    baseline(config.evaluation)


def decode(model, tokenizer, sources, sampler, config):
    """Decoded targets (texts) of the source texts with `sampler` ("greedy" | "beam",
    config.evaluation.num_beams / length_penalty); the reserved tokens other than <eos>
    are never emitted, and a row ends at <eos> or after evaluation.max_new_tokens."""
    from tfllm.data.seq2seq import encode_sources
    from tfllm.generation import generate

    e = config.evaluation
    ids = encode_sources(tokenizer, sources, int(config.data.max_source_length))
    banned = [i for i in tokenizer.reserved_ids if i != tokenizer.eos_id]
    options = dict(stop_token_ids=[tokenizer.eos_id], banned_token_ids=banned,
                   pad_token_id=tokenizer.pad_id)
    if sampler == "beam":
        options.update(num_beams=e.num_beams, length_penalty=e.length_penalty)
    texts = []
    for start in range(0, len(ids), DECODE_BATCH):
        out = generate(model, ids[start:start + DECODE_BATCH], int(e.max_new_tokens),
                       sampler=sampler, **options)
        texts += [tokenizer.decode(row) for row in out]
    return texts


def source_shuffled_losses(model, tokenizer, pairs, config, seed=0):
    """Teacher-forced mean token NLL of `pairs`, and of the same targets with the sources
    permuted across pairs: (true, shuffled). Equal losses mean the model ignores its
    source (it has learned only the targets' language model). Whole batches of
    config.training.batch_size only (`tfllm.experiment.seq2seq_dataset`)."""
    import numpy as np

    from tfllm import experiment
    from tfllm.objectives.seq2seq import MODEL_KEYS, smoothed_cross_entropy

    order = np.random.default_rng(seed).permutation(len(pairs))
    shuffled = [(pairs[j][0], pairs[i][1]) for i, j in enumerate(order)]
    losses = []
    for data in (pairs, shuffled):
        total = count = 0.0
        for batch in experiment.seq2seq_dataset(config, tokenizer, data, train=False):
            logits = model({k: batch[k] for k in MODEL_KEYS}, training=False)
            mask = batch["loss_mask"].numpy()
            total += float((smoothed_cross_entropy(logits, batch["labels"], 0.0).numpy()
                            * mask).sum())
            count += float(mask.sum())
        if not count:
            raise ValueError(f"source_shuffled_losses: fewer than one batch "
                             f"({config.training.batch_size}) of pairs")
        losses.append(total / count)
    return tuple(losses)


def scores(hypotheses, references):
    """{"bleu", "rougeL"} of hypotheses against references."""
    from tfllm.evaluation import text_metrics

    return {"bleu": text_metrics.bleu(hypotheses, references),
            "rougeL": text_metrics.rouge(hypotheses, references, types=("rougeL",))["rougeL"]}


def evaluate(config, model, tokenizer, pairs=None):
    """The metrics of the module docstring on `pairs` (default: the config's test pairs,
    `tfllm.experiment.seq2seq_eval_pairs`)."""
    from tfllm import experiment

    e = config.evaluation
    names, baseline_name = samplers(e), baseline(e)
    pairs = list(experiment.seq2seq_eval_pairs(config) if pairs is None else pairs)
    if not pairs:
        raise ValueError("seq2seq evaluation: no test pairs (config.data.test_file or "
                         "config.data.corpus)")
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    metrics, outputs = {"examples": len(pairs)}, {}
    for sampler in names:
        started = time.time()
        outputs[sampler] = decode(model, tokenizer, sources, sampler, config)
        metrics.update({f"{sampler}/{k}": v
                        for k, v in scores(outputs[sampler], references).items()})
        metrics[f"{sampler}/decode_seconds"] = round(time.time() - started, 1)
    metrics.update(bleu=metrics[f"{names[0]}/bleu"], rougeL=metrics[f"{names[0]}/rougeL"])
    if baseline_name:
        outputs["baseline"] = [BASELINES[baseline_name](s) for s in sources]
        metrics.update({f"baseline_{baseline_name}/{k}": v
                        for k, v in scores(outputs["baseline"], references).items()})
    true, shuffled = source_shuffled_losses(model, tokenizer, pairs, config) \
        if len(pairs) >= int(config.training.batch_size) else (None, None)
    metrics.update(token_nll=true, token_nll_shuffled_sources=shuffled)
    metrics["samples"] = [
        {"source": s, "reference": r, **{k: v[i] for k, v in outputs.items()}}
        for i, (s, r) in enumerate(pairs[:NUM_SAMPLES])]
    return metrics
