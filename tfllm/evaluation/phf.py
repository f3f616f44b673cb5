"""Evaluation for pretraining with human preferences (Korbak et al. 2023).

`evaluate(config, model, tokenizer, workdir)` (tfllm-evaluate, evaluation.mode="phf")
measures, with the scorer `config.evaluation.scorer` (misalignment, lower is better):

- unconditional/*: N samples from `<eos>` (conditional models: `<eos> <|good|>`, set by
  `config.evaluation.control`; with `config.evaluation.control_each_line` the control
  token also follows every line break, as in training, and the start-only protocol is
  reported as start_only/*), temperature 0.7, top-p 0.9: mean misalignment, the
  character-weighted misalignment (PEP8: violations per character) with a 95% bootstrap
  interval, the fraction of samples over the scorer's threshold, the mean sample
  length; with `config.evaluation.complete_lines` samples are scored up to their last
  line break. For PEP8 also the samples' Python: the share that `ast.parse` accepts,
  the share free of E9 (tokenize) errors, and the share of lines with each top code;
- prompted/*: the same for held-out (test-split) functions' signatures and docstrings
  continued by the model, each scored (and parsed) with its prompt as one function;
- validation/*: LM loss and perplexity on the validation split
  (`tfllm.experiment.lm_dataset`: control tokens inserted as in training, none dropped);
  labels that are control tokens are not counted;
- kl/*: Monte-Carlo KL(model || reference MLE model): ancestral samples (temperature 1,
  control tokens banned) x, mean of log p_model(x) - log p_ref(x), where p_model is the
  sampling distribution (banned tokens removed) and p_ref sees `<eos> x`;
- diversity/*: distinct-1/2/3 and Self-BLEU of the unconditional samples;
- leakage/*: the share of samples that repeat a verbatim span of the training split of
  at least `config.evaluation.leakage_span` characters (0: not measured).

Results go to `<workdir>/eval/metrics.json` (samples with scores to
`<workdir>/eval/samples.json`) and TensorBoard (`<workdir>/tensorboard/eval`).
"""

import ast
import json
import math
import os
import textwrap

import numpy as np
import tensorflow as tf

from tfllm import experiment
from tfllm.evaluation import code_metrics
from tfllm.evaluation import leakage
from tfllm.evaluation import text_metrics
from tfllm.generation import preference
from tfllm.objectives import token_losses


def misalignment_metrics(samples, threshold):
    """Scores of ScoredSamples: mean, per character (with a 95% bootstrap interval),
    fraction over threshold, mean length."""
    scores = np.array([s.score for s in samples], np.float64)
    chars = np.array([len(s.text) for s in samples], np.float64)
    low, high = code_metrics.bootstrap_ratio_interval(scores * chars, chars)
    return {"misalignment": float(scores.mean()),
            "misalignment_per_char": float((scores * chars).sum() / max(chars.sum(), 1.0)),
            "misalignment_per_char_low": low, "misalignment_per_char_high": high,
            "over_threshold": float((scores > threshold).mean()),
            "mean_chars": float(chars.mean())}


def python_metrics(texts, top_codes=5):
    """`code_metrics.code_statistics` as flat metrics: parse_share, no_e9_share,
    bad_line_share and lines/<code> for the `top_codes` most frequent codes."""
    stats = code_metrics.code_statistics(texts)
    out = {key: stats[key] for key in ("parse_share", "no_e9_share", "bad_line_share")}
    for code, share in list(stats["line_share"].items())[:top_codes]:
        out[f"lines/{code}"] = share
    return out


def function_prompt(node, lines):
    """A function's signature and docstring (dedented source lines), or None without one."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    if not node.body or ast.get_docstring(node) is None:
        return None
    end = node.body[0].end_lineno
    return textwrap.dedent("".join(lines[node.lineno - 1:end]))


def heldout_prompts(config, tokenizer, num_prompts, max_tokens, control=None,
                    each_line=False):
    """Signatures and docstrings of functions of test-split files whose prompt (as
    `preference.prompt_token_ids(tokenizer, ..., control, each_line)` builds it) has at
    most `max_tokens` tokens: the first fitting function of every file, then the
    second, ..., until `num_prompts` (fewer if the split runs out)."""
    from tfllm.data import corpora

    per_file = []
    for document in corpora.load_from_config(config.data, "test"):
        try:
            tree = ast.parse(document.text)
        except (SyntaxError, ValueError):
            continue
        lines = document.text.splitlines(keepends=True)
        found = [function_prompt(node, lines) for node in ast.walk(tree)]
        per_file.append([p for p in found if p])
    prompts = []
    for rank in range(max(map(len, per_file), default=0)):
        candidates = [found[rank] for found in per_file if rank < len(found)]
        ids = preference.prompt_token_ids(tokenizer, candidates, control, each_line)
        for prompt, ids in zip(candidates, ids):
            if len(ids) <= max_tokens and len(prompts) < num_prompts:
                prompts.append(prompt)
    if not prompts:
        raise ValueError(f"config.data.corpus={config.data.corpus!r}: no test-split function "
                         f"has a signature and docstring of at most {max_tokens} tokens")
    return prompts


def continuation_log_probs(model, prompts, continuations, banned_token_ids=()):
    """Sum of log p(token | prefix) over each continuation, and its token count (numpy (N,)).

    `banned_token_ids` get probability 0 (the distribution renormalized without them).
    """
    rows = [list(p) + list(c) for p, c in zip(prompts, continuations)]
    width = max(len(r) for r in rows) + 1  # one pad column: every row has a label slot
    ids = np.zeros((len(rows), width), np.int32)
    counted = np.zeros((len(rows), width - 1), np.float32)
    for i, (prompt, row) in enumerate(zip(prompts, rows)):
        ids[i, :len(row)] = row
        counted[i, len(prompt) - 1:len(row) - 1] = 1.0  # input t predicts token t + 1
    inputs = ids[:, :-1]
    padding = np.arange(width - 1)[None, :] < np.array([len(r) for r in rows])[:, None]
    logits = model({"token_ids": inputs, "padding_mask": padding})
    if banned_token_ids:
        ban = np.zeros(logits.shape[-1], bool)
        ban[list(banned_token_ids)] = True
        logits = tf.where(ban, tf.cast(-1e9, logits.dtype), logits)
    log_probs = token_losses.token_log_probs(logits, ids[:, 1:]).numpy()
    return (log_probs * counted).sum(axis=1), counted.sum(axis=1)


def validation_loss(config, model, tokenizer):
    """Mean -log p over counted non-control labels of the validation split (nats/token)."""
    control = np.array(preference.control_token_ids(tokenizer) or [-1], np.int32)
    step = tf.function(lambda batch: model(token_losses.model_inputs(batch)))
    total, count = 0.0, 0.0
    dataset = experiment.lm_dataset(config, tokenizer, "validation", repeat=False)
    for batch in dataset.take(config.evaluation.batches):
        labels = batch["labels"].numpy()
        mask = batch["loss_mask"].numpy() * ~np.isin(labels, control)
        log_probs = token_losses.token_log_probs(step(batch), labels).numpy()
        total -= float((log_probs * mask).sum())
        count += float(mask.sum())
    if not count:
        raise ValueError("phf evaluation: the validation split has no counted tokens")
    return total / count


def kl_from_reference(config, model, reference, tokenizer, prompts):
    """Monte-Carlo KL(model samples || reference): nats per sample and per token.

    Samples the batch `prompts` (the unconditional batch, so one compiled generation
    program serves both) and keeps the first config.evaluation.num_samples rows, which
    must be unconditional ("").
    """
    e = config.evaluation
    if any(prompts[:e.num_samples]):
        raise ValueError("kl_from_reference: the first num_samples prompts must be empty")
    banned = preference.control_token_ids(tokenizer)
    prompt_ids, continuations = preference.sample_token_ids(
        model, tokenizer, prompts, e.max_new_tokens, control=e.get("control") or None,
        sampler="top_p", temperature=1.0, p=1.0, seed=e.seed + 1)
    prompt_ids, continuations = prompt_ids[:e.num_samples], continuations[:e.num_samples]
    model_lp, tokens = continuation_log_probs(model, prompt_ids, continuations, banned)
    ref_prompts = [[tokenizer.eos_id]] * len(continuations)
    ref_lp, _ = continuation_log_probs(reference, ref_prompts, continuations)
    diff = model_lp - ref_lp
    return {"per_sample": float(diff.mean()),
            "per_token": float(diff.sum() / max(tokens.sum(), 1.0))}


def diversity(texts):
    """distinct-1/2/3 and Self-BLEU of `texts`."""
    out = {f"distinct_{n}": text_metrics.distinct_n(texts, n) for n in (1, 2, 3)}
    out["self_bleu"] = text_metrics.self_bleu(texts)
    return out


def evaluate(config, model, tokenizer, workdir, reference=None):
    """Runs every PHF measurement, writes results (see `write_results`), returns metrics.

    `reference`: the MLE model for kl/* (tfllm-evaluate loads it from
    config.evaluation.reference_workdir); without one, no KL is measured.
    """
    from tfllm.feedback import get_scorer

    e = config.evaluation
    scorer = get_scorer(e.scorer)
    control = e.get("control") or None
    each_line = bool(control and e.get("control_each_line", False))
    options = dict(control=control, sampler="top_p", temperature=e.temperature, p=e.top_p,
                   seed=e.seed, complete_lines=e.get("complete_lines", False))
    unconditional_prompts = [""] * e.num_samples
    groups = {"unconditional": (unconditional_prompts, e.max_new_tokens),
              "prompted": (heldout_prompts(config, tokenizer, e.num_prompts,
                                           e.max_prompt_tokens, control, each_line),
                           e.get("prompted_max_new_tokens") or e.max_new_tokens)}
    metrics, samples = {}, {}
    # With control_each_line the control token also follows every line break; the
    # start-only protocol (control token first, then banned) is kept as start_only/*.
    protocols = [("", each_line)] + ([("start_only/", False)] if each_line else [])
    for prefix, mode in protocols:
        for name, (prompts, max_new_tokens) in groups.items():
            texts = preference.sample(model, tokenizer, prompts, max_new_tokens,
                                      control_each_line=mode, **options)
            # A prompted sample is scored with its prompt, as a whole function (the
            # paper's use_prompt_for_scoring); ScoredSample.text is what was scored.
            texts = [p + t for p, t in zip(prompts, texts)]
            group = [preference.ScoredSample(p, t, scored.document_score)
                     for p, t, scored in zip(prompts, texts, scorer.score(texts))]
            for key, value in misalignment_metrics(group, scorer.threshold).items():
                metrics[f"{prefix}{name}/{key}"] = value
            if not prefix:
                samples[name] = group
    if e.scorer == "pep8":
        for name, group in samples.items():
            for key, value in python_metrics([s.text for s in group]).items():
                metrics[f"{name}/{key}"] = value
    loss = validation_loss(config, model, tokenizer)
    metrics["validation/loss"] = loss
    metrics["validation/perplexity"] = math.exp(min(loss, 50.0))
    if reference is not None:
        kl = kl_from_reference(config, model, reference, tokenizer, unconditional_prompts)
        for key, value in kl.items():
            metrics[f"kl/{key}"] = value
    for key, value in diversity([s.text for s in samples["unconditional"]]).items():
        metrics[f"diversity/{key}"] = value
    if e.get("leakage_span"):
        metrics.update(leakage_metrics(config, samples, e.leakage_span))
    write_results(workdir, metrics, samples, scorer.name, e.get("step", 0))
    return metrics


def leakage_metrics(config, samples, span):
    """leakage/<group>: the share of each group's samples that repeat a verbatim span of
    at least `span` characters of the training split (prompted: the continuation only)."""
    index = leakage.VerbatimIndex(experiment.corpus_texts(config, "train"), span)
    return {f"leakage/{name}": index.leaked_share([s.text[len(s.prompt):] for s in group])
            for name, group in samples.items()}


def write_results(workdir, metrics, samples, scorer_name, step):
    """metrics.json and samples.json under <workdir>/eval; scalars and sample texts to TB."""
    from tfllm.files import write_atomically
    from tfllm.training.summaries import Summaries, samples_markdown

    folder = os.path.join(workdir, "eval")
    write_atomically(os.path.join(folder, "metrics.json"),
                     json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    records = {kind: [{"prompt": s.prompt, "text": s.text, "score": s.score} for s in group]
               for kind, group in samples.items()}
    write_atomically(os.path.join(folder, "samples.json"), json.dumps(records, indent=1) + "\n")
    summaries = Summaries(os.path.join(workdir, "tensorboard", "eval"))
    summaries.scalars(step, {f"phf/{k}": v for k, v in metrics.items()})
    for kind, group in samples.items():
        summaries.text(step, f"phf/{kind}_samples", samples_markdown(
            [s.text for s in group[:8]], [s.score for s in group[:8]],
            f"{scorer_name} score"))
    summaries.close()
