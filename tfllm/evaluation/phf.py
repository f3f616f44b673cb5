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
  line break. For PEP8 also the samples' Python (`capability.python_metrics`, each cut
  after its last complete line): the share that `ast.parse` accepts, the mean share of
  lines that `tokenize` accepts, the empty samples (no complete non-blank line: counted
  as failing both, never as perfect), the share free of E9 (tokenize) errors, and the
  share of lines with each top code;
- prompted/*: the same for held-out (test-split) functions' signatures and docstrings
  continued by the model, each scored (and parsed) with its prompt as one function
  (emptiness and tokenizing lines are the continuation's);
- validation/*: `capability.split_metrics` of the validation split: LM loss,
  perplexity, accuracy, bits per byte and per character
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

import json
import os

import numpy as np
import tensorflow as tf

from tfllm import experiment
from tfllm.evaluation import capability
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
    groups = capability.prompt_groups(config, tokenizer, model.max_sequence_length, control,
                                      each_line)
    metrics, samples = {}, {}
    # With control_each_line the control token also follows every line break; the
    # start-only protocol (control token first, then banned) is kept as start_only/*.
    protocols = [("", each_line)] + ([("start_only/", False)] if each_line else [])
    for prefix, mode in protocols:
        # A prompted sample is scored with its prompt, as a whole function (the paper's
        # use_prompt_for_scoring); ScoredSample.text is what was scored.
        texts = capability.sample_groups(model, tokenizer, groups, control_each_line=mode,
                                         **options)
        for name, (prompts, _) in groups.items():
            group = [preference.ScoredSample(p, t, scored.document_score)
                     for p, t, scored in zip(prompts, texts[name], scorer.score(texts[name]))]
            for key, value in misalignment_metrics(group, scorer.threshold).items():
                metrics[f"{prefix}{name}/{key}"] = value
            if not prefix:
                samples[name] = group
    if e.scorer == "pep8" or capability.is_code_corpus(config):
        for name, group in samples.items():
            for key, value in capability.python_metrics([s.text for s in group],
                                                        [s.prompt for s in group]).items():
                metrics[f"{name}/{key}"] = value
    for key, value in capability.split_metrics(config, model, tokenizer, "validation").items():
        metrics[f"validation/{key}"] = value
    if reference is not None:
        kl = kl_from_reference(config, model, reference, tokenizer,
                               groups["unconditional"][0])
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
