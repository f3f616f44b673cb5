"""tf.data pipelines of a config (batch keys: docs/ARCHITECTURE.md), one per data kind."""

import os

from tfllm.experiment.corpus import corpus_documents, scored_documents, seq2seq_pairs
from tfllm.experiment.tokenizer import TOKENIZER_DIR, tokenizer_for

FINETUNE_KINDS = ("chat", "seq2seq", "preference", "classification", "corpus",
                  "scored_text")


def lm_dataset(config, tokenizer, split, repeat):
    """Packed next-token batches of config.training.batch_size rows.

    Training data (`repeat`) gets the data-side PHF transforms: filter_threshold /
    filter_percentile (filtering) and control-token drop (drop_token_probability);
    evaluation data keeps every control token (config.data.control_tokens).
    """
    from tfllm.data.conditional import control_token_hook
    from tfllm.data.lm import make_lm_dataset

    data = config.data
    documents = corpus_documents(config, split)
    options = {}
    if repeat:
        options = dict(filter_threshold=data.get("filter_threshold"),
                       filter_percentile=data.get("filter_percentile"),
                       filter_score=data.get("filter_score", "per_char"))
    if data.get("control_tokens"):
        options["control_hook"] = control_token_hook(
            tokenizer, data.control_threshold,
            data.drop_token_probability if repeat else 0.0, seed=data.get("shuffle_seed", 0))
    # Evaluation data is shuffled too, in one fixed order, so its first batches are a
    # sample of many files rather than the first file's rows.
    return make_lm_dataset(documents, tokenizer, int(data.sequence_length),
                           int(config.training.batch_size),
                           seed=int(data.get("shuffle_seed", 0)), shuffle=True,
                           repeat=repeat, reshuffle_each_iteration=repeat,
                           document_mask=bool(data.get("document_mask", False)), **options)


def corpus_dataset(config, tokenizer, split, train):
    """Packed LM batches (with per-token "scores") of the scored corpus split: repeated
    and reshuffled for training; one fixed shuffled order for evaluation."""
    from tfllm.data.lm import make_lm_dataset

    return make_lm_dataset(scored_documents(config, split), tokenizer,
                           int(config.data.sequence_length), int(config.training.batch_size),
                           seed=int(config.data.get("shuffle_seed", 0)), shuffle=True,
                           repeat=train, reshuffle_each_iteration=train)


def classification_dataset(config, tokenizer, examples, train=False, drop_remainder=True):
    """Classification batches of `examples` ((text, label) pairs, or a text<TAB>label TSV
    or {text, label} JSONL path), labels numbered by config.data.label_names; `train`:
    shuffled and repeated."""
    from tfllm.data.classification import make_classification_dataset

    return make_classification_dataset(
        examples, tokenizer, int(config.data.sequence_length),
        int(config.training.batch_size),
        label_names=list(config.data.get("label_names") or ()) or None,
        seed=int(config.data.get("shuffle_seed", 0)), shuffle=train, repeat=train,
        drop_remainder=drop_remainder)


def class_names(config, path):
    """config.data.label_names, else the sorted labels of the training file; stored back
    into config.data.label_names (config.json then numbers the classes for tfllm-evaluate)."""
    from tfllm.data.classification import read_examples

    names = tuple(config.data.get("label_names") or ()) or tuple(
        sorted({str(label) for _, label in read_examples(path)}))
    config.data.label_names = names
    return names


def seq2seq_dataset(config, tokenizer, pairs, train):
    """Seq2seq batches padded to the fixed config.data lengths (one XLA compilation);
    whole batches only, so without `train` the last len(pairs) % batch_size are left out."""
    import tensorflow as tf

    from tfllm.data.seq2seq import make_seq2seq_dataset

    data = config.data
    source, target = int(data.max_source_length), int(data.max_target_length)
    dataset = make_seq2seq_dataset(
        pairs, tokenizer, int(config.training.batch_size), max_source_length=source,
        max_target_length=target, seed=int(data.get("shuffle_seed", 0)), shuffle=train,
        repeat=train, drop_remainder=True)

    def pad(batch):
        out = {}
        for key, value in batch.items():
            length = source if key.startswith("encoder") else target
            fill = tokenizer.pad_id if value.dtype == tf.int32 else False
            value = tf.pad(value, [[0, 0], [0, length - tf.shape(value)[1]]],
                           constant_values=tf.cast(fill, value.dtype))
            out[key] = tf.ensure_shape(value, [config.training.batch_size, length])
        return out

    return dataset.map(pad)


def chat_dataset(config, tokenizer, path, train, drop_remainder=True):
    """LM batches of a chat JSONL file ({prompt, response} or {messages} records), the
    loss on the assistant turns; packed with config.data.pack."""
    from tfllm.data.prompts import make_chat_dataset

    return make_chat_dataset(path, tokenizer, int(config.data.sequence_length),
                             int(config.training.batch_size),
                             pack=bool(config.data.get("pack", False)), shuffle=train,
                             repeat=train, seed=int(config.data.get("shuffle_seed", 0)),
                             drop_remainder=drop_remainder)


def lm_evaluation_dataset(config, tokenizer, split):
    """The LM batches an evaluation of `split` reads: for data kind "chat" every example
    of the JSONL file config.data.<split>_file (loss on the responses), else `lm_dataset`
    of the corpus split."""
    if config.data.get("kind") != "chat":
        return lm_dataset(config, tokenizer, split, repeat=False)
    path = config.data.get(f"{split}_file", "")
    if not path:
        raise ValueError(f"config.data.{split}_file is empty: a chat run is evaluated on "
                         f"the JSONL file of config.evaluation.split ({split!r})")
    return chat_dataset(config, tokenizer, path, train=False, drop_remainder=False)


def preference_dataset(config, tokenizer, path, train, drop_remainder=True):
    """DPO batches (chosen_* / rejected_* keys) of a {prompt, chosen, rejected} JSONL file."""
    from tfllm.data.prompts import make_preference_dataset

    return make_preference_dataset(path, tokenizer, int(config.data.sequence_length),
                                   int(config.training.batch_size), shuffle=train,
                                   repeat=train, seed=int(config.data.get("shuffle_seed", 0)),
                                   drop_remainder=drop_remainder)


def scored_text_dataset(config, tokenizer, path, train):
    """LM batches of a {text, score} JSONL file, one text per row with its score as the
    `preference` input (tfllm.data.scored_text); `train`: shuffled and repeated."""
    from tfllm.data.scored_text import make_scored_text_dataset

    return make_scored_text_dataset(path, tokenizer, int(config.data.sequence_length),
                                    int(config.training.batch_size),
                                    seed=int(config.data.get("shuffle_seed", 0)),
                                    shuffle=train, repeat=train, drop_remainder=True)


def seq2seq_eval_pairs(config, eval_file=""):
    """The test pairs that tfllm-evaluate's seq2seq mode decodes: `seq2seq_pairs` of
    "test", cut to config.evaluation.max_examples (0: all)."""
    pairs = seq2seq_pairs(config, "test", eval_file)
    limit = int((config.get("evaluation") or {}).get("max_examples", 0) or 0)
    return pairs[:limit] if limit else pairs


def _jsonl_texts(path, fields):
    from tfllm.data import sources

    return [r[field] for r in sources.read_jsonl(path, fields) for field in fields]


def _chat_texts(path):
    from tfllm.data import prompts, sources

    return [message["content"] for number, record in
            sources.read_jsonl(path, (), line_numbers=True)
            for message in prompts.to_messages(record, f"{path}:{number}")]


def _set_chat_template(config, tokenizer, workdir):
    """Stores config.tokenizer.chat_template, if set, with the workdir's tokenizer."""
    template = config.tokenizer.get("chat_template")
    if template:
        from tfllm.data.prompts import check_chat_template

        tokenizer.chat_template = check_chat_template(dict(template),
                                                      "config.tokenizer.chat_template")
        tokenizer.save(os.path.join(workdir, TOKENIZER_DIR))


def _batch_or_none(held_out, what, config):
    """`held_out` if it fills one evaluation batch; else [] (no evaluation during
    training) with a warning."""
    batch_size = int(config.training.batch_size)
    if not held_out or len(held_out) >= batch_size:
        return held_out
    from absl import logging

    logging.warning("%d evaluation %s, fewer than one batch of %d: no evaluation during "
                    "training (tfllm-evaluate reads them all)", len(held_out), what,
                    batch_size)
    return []


def finetune_datasets(config, workdir, train_file="", eval_file="", init_workdir=""):
    """(tokenizer, train batches, eval batches or None) of tfllm-finetune's
    config.data.kind; the tokenizer is `tokenizer_for`'s (from `init_workdir` if given,
    else trained on the training data)."""
    kind = config.data.get("kind", "chat")
    if kind not in FINETUNE_KINDS:
        raise ValueError(f"config.data.kind={kind!r}: expected one of {FINETUNE_KINDS}")

    def tokenizer(texts):
        return tokenizer_for(config, workdir, texts, init_workdir)

    if kind == "seq2seq":
        train = seq2seq_pairs(config, "train", train_file)
        test = _batch_or_none(seq2seq_eval_pairs(config, eval_file), "pairs", config)
        tok = tokenizer(lambda: [x for pair in train for x in pair])
        return (tok, seq2seq_dataset(config, tok, train, True),
                seq2seq_dataset(config, tok, test, False) if test else None)
    if kind == "corpus":
        if not init_workdir:
            raise ValueError("corpus fine-tuning needs --init_workdir (the LM to start "
                             "from, with its tokenizer)")
        tok = tokenizer(list)
        return (tok, corpus_dataset(config, tok, "train", True),
                corpus_dataset(config, tok, "validation", False))
    if not train_file:
        raise ValueError(f"{kind} fine-tuning needs --train_file (or config.data.train_file)")
    if kind == "classification":
        from tfllm.data.classification import read_examples

        class_names(config, train_file)
        tok = tokenizer(lambda: [text for text, _ in read_examples(train_file)])
        held_out = _batch_or_none(read_examples(eval_file) if eval_file else [], "examples",
                                  config)
        return (tok, classification_dataset(config, tok, train_file, True),
                classification_dataset(config, tok, held_out) if held_out else None)
    if kind == "scored_text":
        tok = tokenizer(lambda: _jsonl_texts(train_file, ("text",)))
        return (tok, scored_text_dataset(config, tok, train_file, True),
                scored_text_dataset(config, tok, eval_file, False) if eval_file else None)
    if kind == "preference":
        if not init_workdir:
            raise ValueError("preference fine-tuning needs --init_workdir (the policy to "
                             "start from)")
        make, fields = preference_dataset, ("prompt", "chosen", "rejected")
        tok = tokenizer(lambda: _jsonl_texts(train_file, fields))
    else:
        make = chat_dataset
        tok = tokenizer(lambda: _chat_texts(train_file))
        _set_chat_template(config, tok, workdir)
    return (tok, make(config, tok, train_file, True),
            make(config, tok, eval_file, False) if eval_file else None)
