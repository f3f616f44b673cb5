"""Reward-model scorer: misalignment = -reward of a learned reward model (or any callable)."""

import os

from tfllm.feedback import base


class RewardModelScorer(base.Scorer):
    """Scores each whole text (one segment) with `-reward`.

    Args:
        fn: callable `fn(texts: list[str]) -> list[float]`, higher = better. Or instead:
        model_path: a saved `.keras` reward model taking {"token_ids", "padding_mask"} and
            returning one reward per row, loaded lazily on first use, with
        tokenizer_path: a directory saved by `tfllm.tokenizers.Tokenizer.save`.
        max_length: tokens of `<bos> text <eos>`, as `reward_model_scores` lays a text
            out (default: the model's backbone's max_sequence_length).
        batch_size: texts per model call.

    Runs in one process (`num_workers=1`); the on-disk cache needs the path form (a
    callable has no stable identity). The default threshold 0.0 (reward below zero is
    misaligned) is our choice.
    """

    name = "reward_model"
    version = 2  # 2: texts scored as <bos> text <eos> (1: without the <eos>)
    threshold = 0.0

    def __init__(self, fn=None, *, model_path=None, tokenizer_path=None, max_length=None,
                 batch_size=32, **options):
        super().__init__(**options)
        if (fn is None) == (model_path is None):
            raise ValueError("reward_model scorer: give exactly one of fn or model_path")
        if fn is not None and not callable(fn):
            raise ValueError(f"reward_model scorer: fn must be callable, got {type(fn).__name__}")
        if model_path is not None and tokenizer_path is None:
            raise ValueError("reward_model scorer: model_path needs tokenizer_path")
        if model_path is not None and not os.path.isfile(model_path):
            raise ValueError(f"reward_model scorer: no saved model at {model_path}")
        if self.num_workers != 1:
            raise ValueError(f"reward_model scorer runs in one process; num_workers must be 1, "
                             f"got {self.num_workers}")
        if fn is not None and self.cache_dir is not None:
            raise ValueError("reward_model scorer: cache_dir needs model_path, not a callable")
        if (max_length is not None and max_length < 2) or batch_size < 1:
            raise ValueError(f"reward_model scorer: max_length ({max_length}) must be >= 2 "
                             f"(<bos> and <eos>) and batch_size ({batch_size}) >= 1")
        self._fn = fn
        self.model_path = model_path
        self.tokenizer_path = tokenizer_path
        self.max_length = max_length
        self.batch_size = batch_size

    def config(self):
        stat = os.stat(self.model_path)
        return {"model": os.path.abspath(self.model_path), "mtime_ns": stat.st_mtime_ns,
                "size": stat.st_size, "tokenizer": os.path.abspath(self.tokenizer_path),
                "max_length": self.max_length}

    def _score_batch(self, texts):
        if self._fn is None:
            self._fn = load_reward_fn(self.model_path, self.tokenizer_path, self.max_length,
                                      self.batch_size)
        rewards = list(self._fn(texts)) if texts else []
        if len(rewards) != len(texts):
            raise ValueError(f"reward_model scorer: reward function returned {len(rewards)} "
                             f"rewards for {len(texts)} texts")
        return [base.from_segments([text] if text else [], [-float(r)] if text else [], -float(r))
                for text, r in zip(texts, rewards)]


def reward_model_scores(model, tokenizer, texts, max_length=None, batch_size=64):
    """Rewards of `texts` (list of float) from a reward model, each text scored as the
    model is trained (tfllm.data.prompts, tfllm.objectives.bradley_terry): the sequence
    `<bos> text <eos>`, the text cut to fit `max_length` tokens (default: the backbone's
    max_sequence_length) with the `<eos>` kept, the reward read at the `<eos>`."""
    import keras
    import numpy as np

    limit = max_length or model.backbone.max_sequence_length
    if limit < 2:
        raise ValueError(f"reward_model_scores: max_length {limit} leaves no room for "
                         "<bos> and <eos>")
    rewards = []
    for start in range(0, len(texts), batch_size):
        rows = [[tokenizer.bos_id] + ids[:limit - 2] + [tokenizer.eos_id]
                for ids in tokenizer.encode(list(texts[start:start + batch_size]))]
        width = max(len(row) for row in rows)
        token_ids = np.full((len(rows), width), tokenizer.pad_id, np.int32)
        for i, row in enumerate(rows):
            token_ids[i, :len(row)] = row
        mask = np.arange(width)[None, :] < np.array([len(row) for row in rows])[:, None]
        out = keras.ops.convert_to_numpy(model({"token_ids": token_ids, "padding_mask": mask}))
        if out.size != len(rows):
            raise ValueError(f"reward model returned shape {out.shape}, expected one reward "
                             f"per text ({len(rows)})")
        rewards.extend(out.reshape(-1).tolist())
    return rewards


def load_reward_fn(model_path, tokenizer_path, max_length=None, batch_size=64):
    """`fn(texts) -> list[float]`: `reward_model_scores` of a saved `.keras` reward model
    and tokenizer directory."""
    import keras

    from tfllm.tokenizers import Tokenizer

    model = keras.saving.load_model(model_path)
    tokenizer = Tokenizer.load(tokenizer_path)
    return lambda texts: reward_model_scores(model, tokenizer, texts, max_length, batch_size)
