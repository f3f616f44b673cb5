"""Held-out metrics of a pairwise preference objective (DPO/IPO's implicit reward):
pairwise accuracy and reward margin over every pair, batches weighted by their size."""

METRICS = ("pairwise_accuracy", "reward_margin")


def evaluate_pairs(objective, model, dataset):
    """`objective(model, batch, training=False)` metrics averaged over the pairs of
    `dataset` (batches with chosen_*/rejected_* keys, the last one may be smaller)."""
    totals, pairs = dict.fromkeys(METRICS, 0.0), 0
    for batch in dataset:
        _, metrics = objective(model, batch, training=False)
        n = int(batch["chosen_token_ids"].shape[0])
        for key in METRICS:
            totals[key] += float(metrics[key]) * n
        pairs += n
    if not pairs:
        raise ValueError("preference evaluation: the dataset holds no pairs")
    return {**{key: total / pairs for key, total in totals.items()}, "pairs": pairs}
