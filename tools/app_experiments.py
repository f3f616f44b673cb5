#!/usr/bin/env python3
"""Application experiments: seq2seq (code -> docstring, translation) and the preference vector.

    .venv/bin/python tools/app_experiments.py --config=configs/code_to_docstring.py \
        --workdir=runs/code_to_docstring [--results=docs/results/seq2seq]
    .venv/bin/python tools/app_experiments.py --config=configs/seq2seq_translation.py \
        --workdir=runs/translation --config.data.train_file=train.tsv \
        --config.data.test_file=test.tsv
    .venv/bin/python tools/app_experiments.py --config=configs/preference_vector_sentiment.py \
        --workdir=runs/preference_vector [--results=docs/results/apps]
    .venv/bin/python tools/app_experiments.py --config=configs/classifier_sentiment.py \
        --workdir=runs/classifier [--config.data.train_file=train.tsv ...]
    .venv/bin/python tools/app_experiments.py --workdir=runs/chat_data \
        --write_chat_data=runs/chat_data        # prompt/response JSONL for chat_sft.py

Each run trains with tfllm's Trainer (the config's objective, optimizer and schedule),
evaluates on the test split (seq2seq: BLEU/ROUGE-L beside a trivial baseline;
preference_vector: sentiment of samples at each vector value; classification: accuracy,
P/R/F1 and a TensorBoard confusion-matrix image) and writes `<workdir>/results.json`; with --results it also
writes RESULTS.json and RESULTS.md (a table with the exact command).
"""

import json
import os
import re
import sys
import time

from absl import flags

FLAGS = flags.FLAGS


# ------------------------------------------------------------------------- seq2seq data
def split_records(config, split, what, from_corpus, from_file):
    """Records of `split`: `from_corpus()` when config.data.corpus is set, else
    `from_file(path)` on config.data.train_file / test_file; empty is an error."""
    data = config.data
    if data.corpus:
        records, source = from_corpus(), data.corpus
    else:
        source = data.train_file if split == "train" else data.test_file
        if not source:
            raise ValueError(f"config.data.{split}_file is empty and config.data.corpus unset")
        records = from_file(source)
    if not records:
        raise ValueError(f"the {split} split of {source} has no {what}")
    return records


def read_pairs(config, split):
    """(source, target) pairs of `split`: tfllm-finetune's (`tfllm.experiment.seq2seq_pairs`:
    config.data.<split>_file, else config.data.corpus); empty is an error."""
    from tfllm import experiment

    source = config.data.get(f"{split}_file", "") or config.data.corpus
    if not source:
        raise ValueError(f"config.data.{split}_file is empty and config.data.corpus unset")
    pairs = experiment.seq2seq_pairs(config, split)
    if not pairs:
        raise ValueError(f"the {split} split of {source} has no pairs")
    return pairs


def source_shuffled_losses(model, tokenizer, pairs, config, seed=0):
    """Teacher-forced mean token NLL of `pairs`, and of the same targets with the sources
    permuted across pairs: (true, shuffled). Equal losses mean the model ignores its
    source (it has learned only the targets' language model)."""
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


def function_name_words(source):
    """The trivial code -> docstring baseline: the function's name split into words."""
    match = re.search(r"def\s+(\w+)", source)
    name = match.group(1) if match else ""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)  # HTTPHeader -> HTTP Header
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").split()
    return " ".join(words).capitalize() + "." if words else ""


BASELINES = {"function_name": function_name_words, "copy": lambda source: source}


def run_seq2seq(config, workdir, strategy):
    """Trains a Seq2SeqTransformer on pairs; BLEU/ROUGE on the test split beside a baseline."""
    from tfllm import experiment
    from tfllm.bin import common
    from tfllm.data.seq2seq import encode_sources
    from tfllm.evaluation import text_metrics
    from tfllm.generation import generate
    from tfllm.objectives import get_objective

    evaluation = config.evaluation
    samplers = tuple(evaluation.samplers)
    if not samplers or any(s not in ("greedy", "beam") for s in samplers):
        raise ValueError(f"config.evaluation.samplers={samplers!r}: expected a non-empty "
                         "tuple of 'greedy' and/or 'beam'")
    train, test = read_pairs(config, "train"), read_pairs(config, "test")
    if evaluation.max_examples:
        test = test[:evaluation.max_examples]
    tokenizer = experiment.tokenizer_for(config, workdir,
                                         lambda: [text for pair in train for text in pair])
    objective = get_objective(config.objective.name, **dict(config.objective.options))
    trainer = experiment.make_trainer(
        config, strategy, workdir,
        lambda: experiment.build_model(config, tokenizer.vocabulary_size), objective,
        experiment.seq2seq_dataset(config, tokenizer, train, train=True),
        eval_data=experiment.seq2seq_dataset(config, tokenizer, test, train=False)
        if len(test) >= config.training.batch_size else None)
    common.save_model_config(workdir, trainer.model)
    started = time.time()
    result = trainer.train()  # ends with a teacher-forced evaluation on the test batches
    train_seconds = time.time() - started
    trainer.close()
    true_loss, shuffled_loss = source_shuffled_losses(trainer.model, tokenizer, test, config) \
        if len(test) >= config.training.batch_size else (None, None)
    references = [t for _, t in test]

    def scores(texts):
        return {"bleu": text_metrics.bleu(texts, references),
                "rougeL": text_metrics.rouge(texts, references, types=("rougeL",))["rougeL"]}

    sources = encode_sources(tokenizer, [s for s, _ in test], config.data.max_source_length)
    banned = [i for i in range(tokenizer.num_reserved_ids) if i != tokenizer.eos_id]
    systems, hypotheses = {}, {}
    for sampler in samplers:
        options = dict(stop_token_ids=[tokenizer.eos_id], banned_token_ids=banned)
        if sampler == "beam":
            options.update(num_beams=evaluation.num_beams,
                           length_penalty=evaluation.length_penalty)
        texts, decode_started = [], time.time()
        for start in range(0, len(sources), 64):
            out = generate(trainer.model, sources[start:start + 64], evaluation.max_new_tokens,
                           sampler=sampler, **options)
            texts += [tokenizer.decode(row) for row in out]
        hypotheses[sampler] = texts
        systems[f"model_{sampler}"] = {**scores(texts),
                                       "decode_seconds": round(time.time() - decode_started, 1)}
    baseline = [BASELINES[evaluation.baseline](s) for s, _ in test]
    systems[f"baseline_{evaluation.baseline}"] = scores(baseline)
    return {"train_pairs": len(train), "test_pairs": len(test), "steps": result["step"],
            "train_seconds": round(train_seconds, 1),
            "final_train_loss": result.get("train/loss"),
            "test_token_loss": result.get("eval/token_loss"),
            "test_token_accuracy": result.get("eval/accuracy"),
            "test_token_nll": true_loss, "test_token_nll_shuffled_sources": shuffled_loss,
            **systems,
            "examples": [{"source": s, "reference": r, "baseline": b,
                          **{sampler: hypotheses[sampler][i] for sampler in samplers}}
                         for i, ((s, r), b) in enumerate(zip(test[:5], baseline))]}


# ------------------------------------------------------------------------- chat data
CHAT_QUESTION = "What does `{signature}` do?"


def chat_records(corpus, split):
    """{"prompt", "response"} records of a code -> docstring corpus split: the question
    CHAT_QUESTION about the function's `def` line (decorators skipped, at most 100
    characters), answered by the docstring's first line."""
    from tfllm.data import corpora

    records = []
    for source, target in corpora.load(corpus, split=split).pairs:
        lines = [line.strip() for line in source.splitlines()]
        signature = next((line for line in lines if re.match(r"(async\s+)?def\s", line)), "")
        if signature and len(signature) <= 100 and target.strip():
            records.append({"prompt": CHAT_QUESTION.format(signature=signature),
                            "response": target.strip()})
    if not records:
        raise ValueError(f"the {split} split of {corpus} has no function with a docstring")
    return records


def write_chat_data(directory, corpus="python_code_to_docstring"):
    """Writes `directory`/train.jsonl and test.jsonl (chat_records of each split)."""
    os.makedirs(directory, exist_ok=True)
    counts = {}
    for split in ("train", "test"):
        records = chat_records(corpus, split)
        with open(os.path.join(directory, f"{split}.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
        counts[split] = len(records)
    return counts


# ------------------------------------------------------------------ preference vector
def scored_sentences(config, split):
    """(sentence, VADER compound in [-1, 1]) of the corpus split, via the sentiment scorer."""
    from tfllm.data import corpora
    from tfllm.feedback import get_scorer

    data = config.data
    scorer = get_scorer("sentiment")
    out = []
    for scored in scorer.score(corpora.load(data.corpus, split=split).texts):
        for sentence, misalignment in zip(scored.segments, scored.segment_scores):
            sentence = " ".join(sentence.split())
            if data.min_characters <= len(sentence) <= data.max_characters:
                out.append((sentence, 1.0 - 2.0 * misalignment))  # misalignment = (1-c)/2
    if not out:
        raise ValueError(f"no {split} sentences of {data.min_characters}-"
                         f"{data.max_characters} characters in {data.corpus}")
    return out


def sentence_batches(tokenizer, sentences, config):
    """LM batches, one sentence per row, with `preference` = its sentiment (batch, 1)."""
    import numpy as np
    import tensorflow as tf

    length = int(config.data.sequence_length)
    ids = np.zeros((len(sentences), length + 1), np.int32)
    for i, row in enumerate(tokenizer.encode([s for s, _ in sentences])):
        row = ([tokenizer.bos_id] + row + [tokenizer.eos_id])[:length + 1]
        ids[i, :len(row)] = row
    labels = ids[:, 1:]
    ds = tf.data.Dataset.from_tensor_slices({
        "token_ids": ids[:, :-1], "labels": labels, "padding_mask": ids[:, :-1] != 0,
        "loss_mask": (labels != 0).astype(np.float32),
        "preference": np.array([[v] for _, v in sentences], np.float32)})
    ds = ds.shuffle(len(sentences), seed=config.data.get("shuffle_seed", 0)).repeat()
    return ds.batch(config.training.batch_size, drop_remainder=True)


def run_preference_vector(config, workdir, strategy):
    """Trains DecoderLM(preference_dim=1) on sentences + sentiment; samples at +1 and -1."""
    import numpy as np

    from tfllm import experiment
    from tfllm.bin import common
    from tfllm.feedback import get_scorer
    from tfllm.generation import generate
    from tfllm.objectives import get_objective

    train = scored_sentences(config, "train")
    tokenizer = experiment.tokenizer_for(config, workdir, lambda: [s for s, _ in train])
    objective = get_objective(config.objective.name, **dict(config.objective.options))
    trainer = experiment.make_trainer(
        config, strategy, workdir,
        lambda: experiment.build_model(config, tokenizer.vocabulary_size), objective,
        sentence_batches(tokenizer, train, config))
    common.save_model_config(workdir, trainer.model)
    started = time.time()
    result = trainer.train()
    train_seconds = time.time() - started
    trainer.close()
    evaluation = config.evaluation
    scorer = get_scorer("sentiment")
    banned = [i for i in range(tokenizer.num_reserved_ids) if i != tokenizer.eos_id]
    prompt = [tokenizer.bos_id] + tokenizer.encode(evaluation.prompt)
    measured = {}
    for value in evaluation.preference_values:
        texts = []
        for seed in range(evaluation.num_batches):
            out = generate(trainer.model, [prompt] * evaluation.batch_size,
                           evaluation.max_new_tokens, sampler="top_p", p=evaluation.top_p,
                           temperature=evaluation.temperature, seed=seed,
                           stop_token_ids=[tokenizer.eos_id], banned_token_ids=banned,
                           preference=np.full((evaluation.batch_size, 1), value, np.float32))
            texts += [tokenizer.decode(row) for row in out]
        compound = [1.0 - 2.0 * s.document_score for s in scorer.score(texts)]
        measured[f"{value:+g}"] = {
            "mean_sentiment": float(np.mean(compound)),
            "stderr": float(np.std(compound) / np.sqrt(len(compound))),
            "fraction_positive": float(np.mean([c > 0.05 for c in compound])),
            "fraction_negative": float(np.mean([c < -0.05 for c in compound])),
            "samples": len(texts), "examples": texts[:3]}
    return {"train_sentences": len(train),
            "train_mean_sentiment": float(np.mean([v for _, v in train])),
            "steps": result["step"], "train_seconds": round(train_seconds, 1),
            "final_train_loss": result.get("train/loss"), "generations": measured}


# ------------------------------------------------------------------- classification
SENTIMENT_CLASSES = ("negative", "neutral", "positive")


def classification_examples(config, split):
    """(text, label name) of `split`: config.data.train_file/test_file (TSV/JSONL), or
    corpus sentences labelled by the sign of their VADER sentiment (|compound| < 0.05:
    neutral)."""
    from tfllm.data import classification

    return split_records(
        config, split, "examples",
        lambda: [(text, SENTIMENT_CLASSES[(value > -0.05) + (value > 0.05)])
                 for text, value in scored_sentences(config, split)],
        classification.read_examples)


def run_classification(config, workdir, strategy):
    """Fine-tunes an EncoderClassifier; accuracy, P/R/F1 and the confusion matrix on test."""
    import keras
    import tensorflow as tf

    from tfllm import experiment
    from tfllm.objectives import get_objective
    from tfllm.evaluation.classifier import evaluate_classifier

    train, test = classification_examples(config, "train"), classification_examples(config,
                                                                                     "test")
    names = list(config.data.label_names) or sorted({str(label) for _, label in train})
    config.data.label_names = tuple(names)  # numbers the classes of both splits
    tokenizer = experiment.tokenizer_for(config, workdir, lambda: [text for text, _ in train])
    trainer = experiment.make_trainer(
        config, strategy, workdir,
        lambda: experiment.build_model(config, tokenizer.vocabulary_size),
        get_objective(config.objective.name, **dict(config.objective.options)),
        experiment.classification_dataset(config, tokenizer, train, train=True))
    started = time.time()
    result = trainer.train()
    train_seconds = time.time() - started
    trainer.close()
    keras.saving.save_model(trainer.model, os.path.join(workdir, "classifier.keras"))
    writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard", "eval"))
    metrics = evaluate_classifier(
        trainer.model,
        experiment.classification_dataset(config, tokenizer, test, drop_remainder=False),
        names, writer=writer, step=result["step"])
    majority = max(names, key=[label for _, label in train].count)
    return {"train_examples": len(train), "test_examples": len(test), "classes": names,
            "steps": result["step"], "train_seconds": round(train_seconds, 1),
            "final_train_loss": result.get("train/loss"), "model": metrics,
            "majority_class": majority, "majority_accuracy": sum(
                label == majority for _, label in test) / len(test)}


RUNNERS = {"seq2seq": run_seq2seq, "preference_vector": run_preference_vector,
           "classification": run_classification}


# ----------------------------------------------------------------------------- report
def markdown(config, results, command):
    """A results page: the command, the setting and a table of the measured numbers."""
    lines = [f"# {config.evaluation.mode} results", "", "Command:", "", "```", command, "```",
             ""]
    if config.evaluation.mode == "seq2seq":
        samplers = tuple(config.evaluation.samplers)
        systems = [f"model_{s}" for s in samplers] + [f"baseline_{config.evaluation.baseline}"]
        lines += [f"{results['train_pairs']} training pairs, {results['steps']} steps of batch "
                  f"{config.training.batch_size} ({results['train_seconds']} s on this "
                  f"machine); test split: {results['test_pairs']} pairs" + (
                      "." if results["test_token_loss"] is None else
                      f"; teacher-forced test token loss {results['test_token_loss']:.3f}, "
                      f"accuracy {results['test_token_accuracy']:.3f}."), "",
                  "| system | BLEU (sacrebleu) | ROUGE-L F |", "|---|---|---|"]
        for name in systems:
            lines.append(f"| {name} | {results[name]['bleu']:.2f} | "
                         f"{results[name]['rougeL']:.4f} |")
        lines += ["", "Examples:", ""]
        for ex in results["examples"]:
            lines += [f"- reference: {ex['reference']!r}; " + "; ".join(
                f"{s}: {ex[s]!r}" for s in samplers) + f"; baseline: {ex['baseline']!r}"]
    elif config.evaluation.mode == "classification":
        m = results["model"]
        lines += [f"{results['train_examples']} training / {results['test_examples']} test "
                  f"examples, classes {results['classes']}, {results['steps']} steps "
                  f"({results['train_seconds']} s).", "",
                  "| system | accuracy | macro F1 | micro F1 |", "|---|---|---|---|",
                  f"| EncoderClassifier | {m['accuracy']:.3f} | {m['f1_macro']:.3f} | "
                  f"{m['f1_micro']:.3f} |",
                  f"| majority class ({results['majority_class']}) | "
                  f"{results['majority_accuracy']:.3f} | | |", "",
                  f"Confusion matrix (rows true, columns predicted): {m['confusion_matrix']}"]
    else:
        lines += [f"{results['train_sentences']} training sentences (mean VADER compound "
                  f"{results['train_mean_sentiment']:.3f}), {results['steps']} steps "
                  f"({results['train_seconds']} s).", "",
                  "| preference | samples | mean VADER compound (± s.e.) | positive | "
                  "negative |", "|---|---|---|---|---|"]
        for value, m in results["generations"].items():
            lines.append(f"| {value} | {m['samples']} | {m['mean_sentiment']:.3f} ± "
                         f"{m['stderr']:.3f} | {m['fraction_positive']:.2f} | "
                         f"{m['fraction_negative']:.2f} |")
        lines += ["", "Examples:", ""]
        for value, m in results["generations"].items():
            lines += [f"- {value}: {text!r}" for text in m["examples"]]
    return "\n".join(lines) + "\n"


def main(argv):
    from tfllm.bin import common

    del argv
    if FLAGS.write_chat_data:
        print(json.dumps(write_chat_data(FLAGS.write_chat_data)))
        return
    config = FLAGS.config
    if config is None:
        raise ValueError("--config is required (unless --write_chat_data)")
    common.setup(config)
    strategy = common.make_strategy(config)  # before any TensorFlow op
    mode = config.evaluation.mode
    if mode not in RUNNERS:
        raise ValueError(f"config.evaluation.mode={mode!r}: expected one of {sorted(RUNNERS)}")
    os.makedirs(FLAGS.workdir, exist_ok=True)
    results = RUNNERS[mode](config, FLAGS.workdir, strategy)
    common.write_json(os.path.join(FLAGS.workdir, "results.json"), results)
    print(json.dumps({k: v for k, v in results.items() if k != "examples"}, indent=1))
    if FLAGS.results:
        command = " ".join([".venv/bin/python tools/app_experiments.py"] + sys.argv[1:])
        common.write_json(FLAGS.results + ".json", results)
        with open(FLAGS.results + ".md", "w", encoding="utf-8") as f:
            f.write(markdown(config, results, command))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tfllm.bin import common as _common
    _common.define_flags(config_required=False)
    flags.DEFINE_string("results", "", "also write RESULTS.md and RESULTS.json (no suffix)")
    flags.DEFINE_string("write_chat_data", "", "only write DIR/train.jsonl and DIR/test.jsonl: "
                        "chat SFT records (questions about python_code_to_docstring "
                        "functions, answered by their docstring line) for configs/chat_sft.py")
    _common.run(main)
