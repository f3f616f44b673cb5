"""Prompt/response pipelines: chat SFT (loss on the assistant's turns only) and
preference pairs {prompt, chosen, rejected} for reward models and DPO.

A chat example is {"prompt", "response"} or {"messages": [{"role", "content"}, ...]}
(roles "system", "user", "assistant"; the first form is one user and one assistant turn).
Its sequence is <bos>, then each turn's text by its role's template (`ROLE_TEMPLATES`, or
the tokenizer's own `chat_template`), each assistant turn followed by <eos>; truncated on
the right to `sequence_length + 1` tokens and padded. `loss_mask` is 1.0 on labels that
belong to an assistant turn (its <eos> included). With `pack`, examples share rows
(`pack_examples`) and carry `segment_ids`.
"""

from absl import logging
import numpy as np
import tensorflow as tf

from tfllm.data import distribute
from tfllm.data import sources

CHAT_TEMPLATE = "User: {prompt}\nAssistant: "
# The text of a turn by role; a user turn ends with the assistant's cue, so the
# conversation so far is the prompt of the next reply.
ROLE_TEMPLATES = {"system": "System: {content}\n",
                  "user": CHAT_TEMPLATE.replace("{prompt}", "{content}"),
                  "assistant": "{content}"}
_AUTOTUNE = tf.data.AUTOTUNE


def _numbered_records(records_or_path):
    """(where, record) pairs of a JSONL path or a list of dicts, where is "file:line" (a
    path) or "record i" (a list)."""
    if isinstance(records_or_path, str):
        numbered = [(f"{records_or_path}:{number}", record) for number, record in
                    sources.read_jsonl(records_or_path, (), line_numbers=True)]
        empty = f"{records_or_path}: no records (empty file)"
    else:
        numbered = [(f"record {i}", record) for i, record in enumerate(records_or_path)]
        empty = "no records (empty corpus)"
    if not numbered:
        raise ValueError(empty)
    return numbered


def _check_fields(record, fields, where):
    """Raises ValueError unless every field of `fields` is a str in `record`."""
    for field in fields:
        if field not in record:
            raise ValueError(f"{where}: missing field {field!r}")
        if not isinstance(record[field], str):
            raise ValueError(f"{where}: field {field!r} must be a string, got "
                             f"{type(record[field]).__name__} {record[field]!r}")


def _records(records_or_path, fields):
    """The records of a JSONL path or a list of dicts; every field must be a str."""
    numbered = _numbered_records(records_or_path)
    for where, record in numbered:
        _check_fields(record, fields, where)
    return [record for _, record in numbered]


def _name(records_or_path):
    return records_or_path if isinstance(records_or_path, str) else "records"


def _check_responses_fit(loss_mask, sequence_length, where):
    """ValueError if no example keeps a response token after truncation to
    `sequence_length`; a warning with the count if some lose theirs."""
    lost = int((loss_mask.sum(axis=1) == 0).sum())
    if lost and lost == len(loss_mask):
        raise ValueError(f"{where}: every example's response is cut off at sequence_length "
                         f"{sequence_length} (the prompts fill it); raise "
                         f"config.data.sequence_length or shorten the prompts")
    if lost:
        logging.warning("%s: %d of %d examples lose their whole response at "
                        "sequence_length %d and add nothing to the loss", where, lost,
                        len(loss_mask), sequence_length)


def _arrays(sequences, counted, sequence_length, pad_id):
    """Arrays (N, T) token_ids, labels (int32), padding_mask (bool), loss_mask (float32) of
    token sequences and their per-token 0/1 `counted` flags (label t is sequence[t + 1])."""
    n, length = len(sequences), sequence_length
    token_ids = np.full((n, length), pad_id, np.int32)
    labels = np.full((n, length), pad_id, np.int32)
    padding_mask = np.zeros((n, length), bool)
    loss_mask = np.zeros((n, length), np.float32)
    for i, (sequence, flags) in enumerate(zip(sequences, counted)):
        sequence, flags = sequence[:length + 1], flags[:length + 1]
        count = len(sequence) - 1
        token_ids[i, :count] = sequence[:-1]
        labels[i, :count] = sequence[1:]
        padding_mask[i, :count] = True
        loss_mask[i, :count] = flags[1:]
    return {"token_ids": token_ids, "labels": labels, "padding_mask": padding_mask,
            "loss_mask": loss_mask}


def encode_prompt_response(tokenizer, prompts, responses, sequence_length):
    """Arrays (N, T) token_ids, labels (int32), padding_mask (bool), loss_mask (float32):
    <bos> + prompt + response + <eos>, the loss on the response and its <eos>."""
    sequences, counted = [], []
    for p, r in zip(tokenizer.encode(list(prompts)), tokenizer.encode(list(responses))):
        sequences.append([tokenizer.bos_id] + p + r + [tokenizer.eos_id])
        counted.append([0] * (1 + len(p)) + [1] * (len(r) + 1))
    return _arrays(sequences, counted, sequence_length, tokenizer.pad_id)


def chat_template(tokenizer):
    """The role templates of `tokenizer` (its `chat_template`, else ROLE_TEMPLATES)."""
    return getattr(tokenizer, "chat_template", None) or ROLE_TEMPLATES


def check_chat_template(template, where="chat_template"):
    """Raises ValueError unless `template` maps every role to a str with one {content}."""
    if not isinstance(template, dict) or set(template) != set(ROLE_TEMPLATES):
        raise ValueError(f"{where}: expected a template for each of the roles "
                         f"{sorted(ROLE_TEMPLATES)}, got {template!r}")
    for role, text in template.items():
        if not isinstance(text, str) or text.count("{content}") != 1:
            raise ValueError(f"{where}.{role}: {text!r} must hold '{{content}}' once")
    return dict(template)


def to_messages(record, where):
    """The turns of a chat record ({"messages"} or {"prompt", "response"}), checked."""
    if "messages" not in record:
        return [{"role": "user", "content": record["prompt"]},
                {"role": "assistant", "content": record["response"]}]
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{where}: 'messages' must be a non-empty list of "
                         f"{{role, content}} objects, got {messages!r}")
    for i, message in enumerate(messages):
        if (not isinstance(message, dict) or message.get("role") not in ROLE_TEMPLATES
                or not isinstance(message.get("content"), str)):
            raise ValueError(f"{where}: messages[{i}] must be {{\"role\": one of "
                             f"{sorted(ROLE_TEMPLATES)}, \"content\": a string}}, got "
                             f"{message!r}")
    if not any(m["role"] == "assistant" for m in messages):
        raise ValueError(f"{where}: no assistant turn to learn from")
    return messages


def encode_messages(tokenizer, messages, template=None):
    """(token ids, 0/1 loss flags) of a conversation: <bos>, each turn's templated text,
    <eos> after each assistant turn; the flags mark assistant turns and their <eos>.
    Ending on a user turn gives the prompt of the next assistant reply."""
    template = template or chat_template(tokenizer)
    ids, counted = [tokenizer.bos_id], [0]
    for message in messages:
        turn = tokenizer.encode(template[message["role"]].format(content=message["content"]))
        assistant = message["role"] == "assistant"
        if assistant:
            turn = turn + [tokenizer.eos_id]
        ids += turn
        counted += [int(assistant)] * len(turn)
    return ids, counted


def pack_examples(arrays, pad_id):
    """Packs the examples (rows) of `_arrays`' output into fewer rows of the same length,
    first-fit decreasing by length, each example whole; adds segment_ids (int32: 1, 2, ...
    per example in a row, 0 on padding)."""
    lengths = arrays["padding_mask"].sum(axis=1)
    length = arrays["token_ids"].shape[1]
    rows, free = [], []  # example indices per packed row; its free positions
    for i in np.argsort(-lengths, kind="stable"):
        if lengths[i] == 0:
            continue
        row = next((r for r, space in enumerate(free) if space >= lengths[i]), len(rows))
        if row == len(rows):
            rows.append([])
            free.append(length)
        rows[row].append(i)
        free[row] -= lengths[i]
    packed = {key: np.full((len(rows), length), pad_id if value.dtype == np.int32 else 0,
                           value.dtype) for key, value in arrays.items()}
    packed["segment_ids"] = np.zeros((len(rows), length), np.int32)
    for r, examples in enumerate(rows):
        at = 0
        for segment, i in enumerate(examples, 1):
            n = lengths[i]
            for key, value in arrays.items():
                packed[key][r, at:at + n] = value[i, :n]
            packed["segment_ids"][r, at:at + n] = segment
            at += n
    return packed


def _batched(arrays, batch_size, seed, shuffle, repeat, num_shards, shard_index,
             input_context, drop_remainder, prefetch):
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    dataset = distribute.order(dataset, seed, shuffle, repeat, num_shards, shard_index,
                               input_context)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(_AUTOTUNE) if prefetch else dataset


def make_chat_dataset(records_or_path, tokenizer, sequence_length, batch_size, *,
                      template=None, pack=False, seed=0, shuffle=True, repeat=False,
                      num_shards=1, shard_index=0, input_context=None,
                      drop_remainder=False, prefetch=True):
    """Supervised fine-tuning on chat JSONL (path) or dicts: {"prompt", "response"} or
    {"messages"} records (the module docstring).

    Returns LM batches (token_ids, labels, padding_mask, loss_mask; with `pack` also
    segment_ids) with the loss on the assistant turns only. `template`: role templates
    (default: the tokenizer's `chat_template`, else ROLE_TEMPLATES).
    """
    template = check_chat_template(template or chat_template(tokenizer))
    sequences, counted = [], []
    for where, record in _numbered_records(records_or_path):
        if "messages" not in record:
            _check_fields(record, ("prompt", "response"), where)
        ids, flags = encode_messages(tokenizer, to_messages(record, where), template)
        sequences.append(ids)
        counted.append(flags)
    arrays = _arrays(sequences, counted, sequence_length, tokenizer.pad_id)
    _check_responses_fit(arrays["loss_mask"], sequence_length, _name(records_or_path))
    if pack:
        arrays = pack_examples(arrays, tokenizer.pad_id)
    return _batched(arrays, batch_size, seed, shuffle, repeat, num_shards, shard_index,
                    input_context, drop_remainder, prefetch)


def make_preference_dataset(records_or_path, tokenizer, sequence_length, batch_size, *,
                            template="{prompt}", seed=0, shuffle=True, repeat=False,
                            num_shards=1, shard_index=0, input_context=None,
                            drop_remainder=False, prefetch=True):
    """Preference pairs from {prompt, chosen, rejected} JSONL (path) or dicts.

    Returns batches with chosen_token_ids, chosen_labels, chosen_padding_mask,
    chosen_loss_mask and the same rejected_* keys (loss mask on the response).
    """
    fields = ("prompt", "chosen", "rejected")
    records = _records(records_or_path, fields)
    prompts = [template.format(prompt=r["prompt"]) for r in records]
    arrays = {}
    for side in ("chosen", "rejected"):
        encoded = encode_prompt_response(tokenizer, prompts, [r[side] for r in records],
                                         sequence_length)
        _check_responses_fit(encoded["loss_mask"], sequence_length,
                             f"{_name(records_or_path)} ({side})")
        arrays.update({f"{side}_{k}": v for k, v in encoded.items()})
    return _batched(arrays, batch_size, seed, shuffle, repeat, num_shards, shard_index,
                    input_context, drop_remainder, prefetch)
