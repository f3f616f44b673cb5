"""Preference-vector evaluation (tfllm-evaluate, evaluation.mode="preference_vector") of a
DecoderLM(preference_dim=1) trained on scored text (tfllm-finetune, data kind
"scored_text") with sentiment as the vector: does the vector steer the samples?

`evaluate(config, model, tokenizer)` samples, for each value of
config.evaluation.preference_values, num_batches batches of batch_size continuations of
<bos> + prompt (top-p `top_p`, `temperature`, sampler seeds 0 .. num_batches - 1, at most
max_new_tokens, the reserved tokens other than <eos> banned) with the vector fixed at that
value, and scores them with the sentiment scorer (VADER compound in [-1, 1]). Per value
(generations["+1"], generations["-1"], ...): mean_sentiment with its standard error
(stderr), the fractions of samples over 0.05 (fraction_positive) and under -0.05
(fraction_negative), the number of samples and 3 examples; the numbers also flat, as
"+1/mean_sentiment" etc. (TensorBoard scalars).
"""

import numpy as np

POSITIVE, NEGATIVE = 0.05, -0.05  # VADER's conventional compound thresholds


def sample(model, tokenizer, value, config):
    """The texts sampled with the preference vector at `value` (module docstring)."""
    from tfllm.generation import generate

    e = config.evaluation
    banned = [i for i in tokenizer.reserved_ids if i != tokenizer.eos_id]
    prompt = [tokenizer.bos_id] + tokenizer.encode(e.prompt)
    texts = []
    for seed in range(int(e.num_batches)):
        out = generate(model, [prompt] * e.batch_size, e.max_new_tokens, sampler="top_p",
                       p=e.top_p, temperature=e.temperature, seed=seed,
                       stop_token_ids=[tokenizer.eos_id], banned_token_ids=banned,
                       preference=np.full((e.batch_size, 1), value, np.float32))
        texts += [tokenizer.decode(row) for row in out]
    return texts


def compound_sentiments(texts):
    """VADER compound sentiment in [-1, 1] of each text (the sentiment scorer's
    misalignment is (1 - compound) / 2)."""
    from tfllm.feedback import get_scorer

    return [1.0 - 2.0 * s.document_score for s in get_scorer("sentiment").score(texts)]


def evaluate(config, model, tokenizer):
    """{"generations": {"+1": {...}, ...}, "+1/mean_sentiment": ..., ...} (module
    docstring), one generations entry per preference value."""
    e = config.evaluation
    if getattr(model, "preference_dim", 0) != 1:
        raise ValueError("preference_vector evaluation needs a DecoderLM with "
                         f"preference_dim=1, not {type(model).__name__} with "
                         f"preference_dim={getattr(model, 'preference_dim', 0)}")
    values = tuple(e.get("preference_values") or ())
    if not values:
        raise ValueError("config.evaluation.preference_values is empty: name the vector "
                         "values to sample at, e.g. (1.0, -1.0)")
    measured = {}
    for value in values:
        texts = sample(model, tokenizer, value, config)
        compound = compound_sentiments(texts)
        measured[f"{value:+g}"] = {
            "mean_sentiment": float(np.mean(compound)),
            "stderr": float(np.std(compound) / np.sqrt(len(compound))),
            "fraction_positive": float(np.mean([c > POSITIVE for c in compound])),
            "fraction_negative": float(np.mean([c < NEGATIVE for c in compound])),
            "samples": len(texts), "examples": texts[:3]}
    flat = {f"{value}/{k}": v for value, m in measured.items() for k, v in m.items()
            if k != "examples"}
    return {"generations": measured, **flat}
