"""Preference pairs for reward models and DPO: a user JSONL file, or pairs labelled by a scorer.

Scorer pairs: two sampled continuations of each prompt, the one with the higher reward
is `chosen`; pairs whose rewards differ by `min_margin` or less (ties, and near-ties of a
continuous scorer) are dropped.
"""

import json

from tfllm.data import sources
from tfllm.files import write_atomically

FIELDS = ("prompt", "chosen", "rejected")
REWARD_FIELDS = ("chosen_reward", "rejected_reward")


def read_pairs(path):
    """Records {prompt, chosen, rejected} of a JSONL file (+ chosen_reward and
    rejected_reward where a record has them, as scorer pairs do); ValueError
    "file:line: ..." on invalid JSON, a missing or non-string field, a non-numeric
    reward, or an empty file."""
    records = []
    for number, record in sources.read_jsonl(path, FIELDS, line_numbers=True):
        for field in FIELDS:
            if not isinstance(record[field], str):
                raise ValueError(f"{path}:{number}: field {field!r} must be a string, got "
                                 f"{type(record[field]).__name__}")
        kept = {field: record[field] for field in FIELDS}
        for field in REWARD_FIELDS:
            if field in record:
                value = record[field]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{path}:{number}: field {field!r} must be a number, got "
                                     f"{type(value).__name__}")
                kept[field] = float(value)
        records.append(kept)
    if not records:
        raise ValueError(f"{path}: no preference pairs (empty file)")
    return records


def drop_near_ties(records, min_margin, where="pairs"):
    """The records whose chosen_reward exceeds rejected_reward by more than min_margin.

    min_margin=0 keeps every record (a pairs file without rewards included); above 0
    every record must carry both rewards (ValueError naming `where` and the record).
    """
    if not min_margin >= 0:
        raise ValueError(f"{where}: min_margin must be >= 0, got {min_margin}")
    if min_margin == 0:
        return list(records)
    kept = []
    for index, record in enumerate(records):
        if not all(field in record for field in REWARD_FIELDS):
            raise ValueError(f"{where}: pair {index} has no chosen_reward/rejected_reward; "
                             "min_margin > 0 needs scored pairs")
        if record["chosen_reward"] - record["rejected_reward"] > min_margin:
            kept.append(record)
    return kept


def write_pairs(path, records):
    """Writes records as JSONL (atomically)."""
    write_atomically(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def text_prompts(texts, tokenizer, prompt_tokens):
    """<eos> + the first `prompt_tokens` tokens of every line (of any text) that has a
    letter and that many tokens, in order.

    The prompt starts with <eos> because that is how the LM pipeline (tfllm.data.lm)
    starts every document (it never emits <bos>), so a prompt reads as the start of a
    new document. prompt_tokens=0 gives the single prompt [<eos>] (unconditional
    samples, as tfllm.evaluation.phf draws them).
    """
    if prompt_tokens < 0:
        raise ValueError(f"text_prompts: prompt_tokens must be >= 0, got {prompt_tokens}")
    if prompt_tokens == 0:
        return [[tokenizer.eos_id]]
    lines = [line for text in texts for line in text.splitlines()
             if any(c.isalpha() for c in line)]
    return [[tokenizer.eos_id] + ids[:prompt_tokens]
            for ids in tokenizer.encode(lines) if len(ids) >= prompt_tokens]


def label_pairs(prompts, first, second, first_rewards, second_rewards, min_margin=0.0):
    """Preference records from two scored continuations per prompt (higher reward wins).

    A pair is kept only when its rewards differ by more than `min_margin` (a continuous
    scorer rarely ties exactly; near-ties are label noise) and its texts differ.

    Args:
        prompts, first, second: equal-length lists of texts.
        first_rewards, second_rewards: the rewards of `first` and `second`.
        min_margin: the smallest reward difference a kept pair must exceed (>= 0).

    Returns records {prompt, chosen, rejected, chosen_reward, rejected_reward}.
    """
    if not min_margin >= 0:
        raise ValueError(f"label_pairs: min_margin must be >= 0, got {min_margin}")
    lengths = {len(prompts), len(first), len(second), len(first_rewards), len(second_rewards)}
    if len(lengths) != 1:
        raise ValueError("label_pairs: prompts, texts and rewards must have equal lengths, got "
                         f"{len(prompts)}, {len(first)}, {len(second)}, {len(first_rewards)}, "
                         f"{len(second_rewards)}")
    records = []
    for prompt, a, b, ra, rb in zip(prompts, first, second, first_rewards, second_rewards):
        ra, rb = float(ra), float(rb)
        if abs(ra - rb) <= min_margin or a == b:
            continue
        if rb > ra:
            (a, ra), (b, rb) = (b, rb), (a, ra)
        records.append({"prompt": prompt, "chosen": a, "rejected": b,
                        "chosen_reward": ra, "rejected_reward": rb})
    return records


def scorer_pairs(model, tokenizer, prompts, reward, max_new_tokens, seed=0, top_k=0,
                 temperature=1.0, min_margin=0.0, include_prompt=False, batch_size=64):
    """Labels two sampled continuations per prompt with `reward` (texts -> list[float]).

    Returns records {prompt, chosen, rejected, chosen_reward, rejected_reward} (texts
    decoded without special tokens), ties (|difference| <= min_margin) dropped
    (`label_pairs`). include_prompt: score prompt + continuation (as configs/rl_*.py
    reward it: the sentiment scorer gives an empty text its best score) instead of the
    continuation alone.
    """
    from tfllm.generation import generate

    if not min_margin >= 0:
        raise ValueError(f"scorer_pairs: min_margin must be >= 0, got {min_margin}")
    records = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        doubled = [p for p in chunk for _ in range(2)]
        rows = generate(model, doubled, max_new_tokens, sampler="top_k",
                        k=top_k or model.vocabulary_size, temperature=temperature,
                        seed=seed + start, stop_token_ids=[tokenizer.eos_id],
                        pad_token_id=tokenizer.pad_id,
                        banned_token_ids=list(tokenizer.control_token_ids.values()))
        texts = [tokenizer.decode(row[len(p):]) for row, p in zip(rows, doubled)]
        prompt_texts = [tokenizer.decode(p) for p in chunk]
        scored = [prompt_texts[i // 2] + t for i, t in enumerate(texts)] \
            if include_prompt else texts
        rewards = [float(r) for r in reward(scored)]
        records += label_pairs(prompt_texts, texts[0::2], texts[1::2], rewards[0::2],
                               rewards[1::2], min_margin)
    return records
