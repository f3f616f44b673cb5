"""Preference pairs for reward models and DPO: a user JSONL file, or pairs labelled by a scorer.

Scorer pairs: two sampled continuations of each prompt, the one with the higher reward
is `chosen`; pairs whose rewards differ by `min_margin` or less (ties) are dropped.
"""

import json

from tfllm.data import sources
from tfllm.tokenizers.base import write_atomically

FIELDS = ("prompt", "chosen", "rejected")


def read_pairs(path):
    """Records {prompt, chosen, rejected} of a JSONL file; ValueError "file:line: ..." on
    invalid JSON, a missing or non-string field, or an empty file."""
    records = []
    for number, record in sources.read_jsonl(path, FIELDS, line_numbers=True):
        for field in FIELDS:
            if not isinstance(record[field], str):
                raise ValueError(f"{path}:{number}: field {field!r} must be a string, got "
                                 f"{type(record[field]).__name__}")
        records.append({field: record[field] for field in FIELDS})
    if not records:
        raise ValueError(f"{path}: no preference pairs (empty file)")
    return records


def write_pairs(path, records):
    """Writes records as JSONL (atomically)."""
    write_atomically(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def text_prompts(texts, tokenizer, prompt_tokens):
    """[bos] + the first `prompt_tokens` tokens of every line (of any text) that has a
    letter and that many tokens, in order."""
    lines = [line for text in texts for line in text.splitlines()
             if any(c.isalpha() for c in line)]
    return [[tokenizer.bos_id] + ids[:prompt_tokens]
            for ids in tokenizer.encode(lines) if len(ids) >= prompt_tokens]


def scorer_pairs(model, tokenizer, prompts, reward, max_new_tokens, seed=0, top_k=0,
                 temperature=1.0, min_margin=0.0, batch_size=64):
    """Labels two sampled continuations per prompt with `reward` (texts -> list[float]).

    Returns records {prompt, chosen, rejected, chosen_reward, rejected_reward} (texts
    decoded without special tokens), ties (|difference| <= min_margin) dropped.
    """
    from tfllm.generation import generate

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
        rewards = [float(r) for r in reward(texts)]
        for i, prompt in enumerate(chunk):
            a, b = texts[2 * i], texts[2 * i + 1]
            ra, rb = rewards[2 * i], rewards[2 * i + 1]
            if abs(ra - rb) <= min_margin or a == b:
                continue
            if rb > ra:
                (a, ra), (b, rb) = (b, rb), (a, ra)
            records.append({"prompt": tokenizer.decode(prompt), "chosen": a, "rejected": b,
                            "chosen_reward": ra, "rejected_reward": rb})
    return records
