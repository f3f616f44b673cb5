#!/usr/bin/env python3
"""Application experiments: seq2seq (code -> docstring, translation), the preference vector
and sentence classification, each run by the binaries and reported here.

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

This tool only prepares data, runs the binaries and writes the report. A run is

1. data (config.evaluation.mode): "seq2seq" reads the pairs as tfllm-finetune does (to
   count them and fail early); "classification" with config.data.corpus writes the
   corpus sentences labelled by the sign of their VADER sentiment to
   <workdir>/data/{train,test}.jsonl (else it uses config.data.train_file/test_file);
   "preference_vector" writes the train-split sentences with their VADER compound to
   <workdir>/data/train.jsonl ({"text", "score"}, tfllm-finetune's "scored_text" kind);
2. `python -m tfllm.bin.finetune` with this tool's --config (and its --config.*
   overrides, --strategy, --cpu_devices) and --workdir: the config's objective,
   optimizer and schedule, seeded by config.training.seed;
3. `python -m tfllm.bin.evaluate --workdir=<workdir>` (the config.json the training
   wrote): <workdir>/eval/metrics.json (seq2seq: BLEU/ROUGE-L of each sampler beside a
   trivial baseline, teacher-forced NLL with true and shuffled sources; classification:
   accuracy, P/R/F1 and a TensorBoard confusion-matrix image; preference_vector:
   sentiment of samples at each vector value);
4. the report: `<workdir>/results.json` from metrics.json, the training's TensorBoard
   scalars (steps, final training loss, the final teacher-forced evaluation) and the
   data; with --results also RESULTS.json and RESULTS.md (a table with the exact command).
"""

import json
import os
import re
import subprocess
import sys
import time

from absl import flags

FLAGS = flags.FLAGS
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# evaluation.mode -> the tfllm-finetune data kind (config.data.kind) it trains
DATA_KINDS = {"seq2seq": "seq2seq", "classification": "classification",
              "preference_vector": "scored_text"}


# ------------------------------------------------------------------------- binaries
def config_args(argv=None):
    """This tool's --config=<file> and --config.* overrides (from `argv`, default
    sys.argv), to give the binaries the same config."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = [f"--config={FLAGS['config'].config_filename}"]
    for i, arg in enumerate(argv):
        if arg.startswith("--config."):
            out.append(arg)
            if "=" not in arg and i + 1 < len(argv):  # --config.x value
                out.append(argv[i + 1])
    return out


def run_binary(module, *args):
    """Runs `python -m module args` (this checkout's tfllm) and returns its wall-clock
    seconds; a failure is a ValueError (the binary printed its one-line error above)."""
    command = [sys.executable, "-m", module, *args]
    print(" ".join(command), flush=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([REPO] + [p for p in [env.get("PYTHONPATH")] if p])
    started = time.time()
    done = subprocess.run(command, env=env, check=False)
    if done.returncode:
        raise ValueError(f"{module} failed (exit status {done.returncode}): {' '.join(command)}")
    return time.time() - started


def finetune(workdir, *args):
    """tfllm-finetune of this tool's config into `workdir`; its wall-clock seconds."""
    return run_binary("tfllm.bin.finetune", *config_args(), f"--workdir={workdir}",
                      f"--strategy={FLAGS.strategy}", f"--cpu_devices={FLAGS.cpu_devices}",
                      *args)


def evaluate(workdir):
    """tfllm-evaluate of `workdir` (its config.json); <workdir>/eval/metrics.json."""
    run_binary("tfllm.bin.evaluate", f"--workdir={workdir}")
    with open(os.path.join(workdir, "eval", "metrics.json"), encoding="utf-8") as f:
        return json.load(f)


def training_scalars(workdir):
    """The training run's last values: {"steps", "train/loss", "eval/..."} from
    <workdir>/tensorboard (the last step logged; float32, as TensorBoard stores them)."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    logdir = os.path.join(workdir, "tensorboard")
    tags = []
    if os.path.isdir(logdir):
        accumulator = event_accumulator.EventAccumulator(
            logdir, size_guidance={event_accumulator.TENSORS: 0})
        accumulator.Reload()
        tags = accumulator.Tags()["tensors"]
    if "train/loss" not in tags:
        raise ValueError(f"{workdir}/tensorboard: no train/loss (did tfllm-finetune run?)")
    step = max(e.step for e in accumulator.Tensors("train/loss"))
    out = {"steps": step}
    for tag in tags:
        if tag == "train/loss" or tag.startswith("eval/"):
            events = [e for e in accumulator.Tensors(tag) if e.step == step]
            if events:
                out[tag] = float(tensor_util.make_ndarray(events[-1].tensor_proto))
    return out


def write_jsonl(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    return path


# ------------------------------------------------------------------------- seq2seq
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


def run_seq2seq(config, workdir):
    """tfllm-finetune of a Seq2SeqTransformer on the pairs, tfllm-evaluate's seq2seq mode
    (tfllm.evaluation.seq2seq) on the test split: BLEU/ROUGE-L beside a baseline."""
    from tfllm.evaluation import seq2seq

    seq2seq.check_config(config)
    samplers = seq2seq.samplers(config.evaluation)
    train = read_pairs(config, "train")
    read_pairs(config, "test")  # an empty split fails here, before training
    seconds = finetune(workdir)
    metrics, scalars = evaluate(workdir), training_scalars(workdir)
    systems = {f"model_{s}": {k: metrics[f"{s}/{k}"]
                              for k in ("bleu", "rougeL", "decode_seconds")}
               for s in samplers}
    baseline = seq2seq.baseline(config.evaluation)
    if baseline:
        systems[f"baseline_{baseline}"] = {k: metrics[f"baseline_{baseline}/{k}"]
                                           for k in ("bleu", "rougeL")}
    return {"train_pairs": len(train), "test_pairs": metrics["examples"],
            "steps": scalars["steps"], "train_seconds": round(seconds, 1),
            "final_train_loss": scalars.get("train/loss"),
            "test_token_loss": scalars.get("eval/token_loss"),
            "test_token_accuracy": scalars.get("eval/accuracy"),
            "test_token_nll": metrics["token_nll"],
            "test_token_nll_shuffled_sources": metrics["token_nll_shuffled_sources"],
            **systems, "examples": metrics["samples"]}


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


def run_preference_vector(config, workdir):
    """tfllm-finetune ("scored_text") of DecoderLM(preference_dim=1) on the train-split
    sentences and their sentiment; tfllm-evaluate's preference_vector mode samples at
    config.evaluation.preference_values (+1 and -1) and scores the samples."""
    import numpy as np

    train = scored_sentences(config, "train")
    path = write_jsonl(os.path.join(workdir, "data", "train.jsonl"),
                       [{"text": text, "score": score} for text, score in train])
    seconds = finetune(workdir, f"--train_file={path}")
    metrics, scalars = evaluate(workdir), training_scalars(workdir)
    return {"train_sentences": len(train),
            "train_mean_sentiment": float(np.mean([v for _, v in train])),
            "steps": scalars["steps"], "train_seconds": round(seconds, 1),
            "final_train_loss": scalars.get("train/loss"),
            "generations": metrics["generations"]}


# ------------------------------------------------------------------- classification
SENTIMENT_CLASSES = ("negative", "neutral", "positive")


def classification_examples(config, split):
    """(text, label) of `split`: config.data.train_file/test_file (TSV/JSONL), or
    corpus sentences labelled by the sign of their VADER sentiment (|compound| < 0.05:
    neutral)."""
    from tfllm.data import classification

    return split_records(
        config, split, "examples",
        lambda: [(text, SENTIMENT_CLASSES[(value > -0.05) + (value > 0.05)])
                 for text, value in scored_sentences(config, split)],
        classification.read_examples)


def run_classification(config, workdir):
    """tfllm-finetune of an EncoderClassifier; tfllm-evaluate's classification mode:
    accuracy, P/R/F1 and the confusion matrix on the test split, beside the majority
    class of the training split."""
    train, test = classification_examples(config, "train"), classification_examples(config,
                                                                                     "test")
    files = []
    if config.data.corpus:  # the labelled sentences, for tfllm-finetune and -evaluate
        for flag, split, examples in (("train_file", "train", train),
                                      ("eval_file", "test", test)):
            path = write_jsonl(os.path.join(workdir, "data", f"{split}.jsonl"),
                               [{"text": text, "label": label} for text, label in examples])
            files.append(f"--{flag}={path}")
    seconds = finetune(workdir, *files)
    metrics, scalars = evaluate(workdir), training_scalars(workdir)
    with open(os.path.join(workdir, "config.json"), encoding="utf-8") as f:
        names = list(json.load(f)["data"]["label_names"])  # as tfllm-finetune numbered them
    majority = max(names, key=[label for _, label in train].count)
    return {"train_examples": len(train), "test_examples": len(test), "classes": names,
            "steps": scalars["steps"], "train_seconds": round(seconds, 1),
            "final_train_loss": scalars.get("train/loss"), "model": metrics,
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
        from tfllm.evaluation import seq2seq

        samplers, baseline = (seq2seq.samplers(config.evaluation),
                              seq2seq.baseline(config.evaluation))
        systems = [f"model_{s}" for s in samplers] + [f"baseline_{baseline}"] * bool(baseline)
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
                f"{s}: {ex[s]!r}" for s in samplers) + (
                    f"; baseline: {ex['baseline']!r}" if "baseline" in ex else "")]
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
    mode = config.evaluation.mode
    if mode not in RUNNERS:
        raise ValueError(f"config.evaluation.mode={mode!r}: expected one of {sorted(RUNNERS)}")
    kind = config.data.get("kind", "chat")
    if kind != DATA_KINDS[mode]:
        raise ValueError(f"config.data.kind={kind!r}: the {mode} app trains tfllm-finetune's "
                         f"{DATA_KINDS[mode]!r} data kind")
    os.makedirs(FLAGS.workdir, exist_ok=True)
    results = RUNNERS[mode](config, FLAGS.workdir)
    common.write_json(os.path.join(FLAGS.workdir, "results.json"), results)
    print(json.dumps({k: v for k, v in results.items() if k != "examples"}, indent=1))
    if FLAGS.results:
        command = " ".join([".venv/bin/python tools/app_experiments.py"] + sys.argv[1:])
        common.write_json(FLAGS.results + ".json", results)
        with open(FLAGS.results + ".md", "w", encoding="utf-8") as f:
            f.write(markdown(config, results, command))


if __name__ == "__main__":
    sys.path.insert(0, REPO)
    from tfllm.bin import common as _common
    _common.define_flags(config="optional")
    flags.DEFINE_string("results", "", "also write RESULTS.md and RESULTS.json (no suffix)")
    flags.DEFINE_string("write_chat_data", "", "only write DIR/train.jsonl and DIR/test.jsonl: "
                        "chat SFT records (questions about python_code_to_docstring "
                        "functions, answered by their docstring line) for configs/chat_sft.py")
    _common.run(main)
