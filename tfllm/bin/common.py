"""Plumbing shared by the binaries: flags, one-line errors, workdir layout, builders.

Workdir layout (everything a later binary needs to rebuild the run):

    <workdir>/config.json        the full experiment config
    <workdir>/model.json         {"class": ..., "config": model.get_config()}
    <workdir>/tokenizer/         the tokenizer (trained once, then loaded)
    <workdir>/checkpoints/       tf.train.CheckpointManager files
    <workdir>/tensorboard/       TensorBoard events (tfllm-evaluate: the run tensorboard/eval)
"""

import ast
import json
import os
import re
import sys

from absl import app, flags
from ml_collections import config_flags

from tfllm.bin import native_log

FLAGS = flags.FLAGS


def define_flags(config_required=True):
    """--config (ml_collections config file, fields overridable), --workdir, --strategy.

    Nothing here imports TensorFlow: flag errors print one clean line.
    """
    config_flags.DEFINE_config_file(
        "config", None, "experiment config file (configs/*.py); override fields with "
        "--config.section.field=value", lock_config=True)
    flags.DEFINE_string("workdir", None, "run directory: checkpoints, TensorBoard, tokenizer",
                        required=True)
    flags.DEFINE_string("strategy", "one_device", "tf.distribute strategy: one_device, "
                        "mirrored, multi_worker_mirrored or tpu")
    flags.DEFINE_integer("cpu_devices", 2, "logical CPU devices for --strategy=mirrored "
                         "without GPUs")
    if config_required:
        flags.mark_flag_as_required("config")


def run(main):
    """absl.app.run(main), with bad input reported as one line on stderr and exit status 1
    (and native libraries' known harmless log lines dropped from stderr)."""
    native_log.filter_stderr()

    def guarded(argv):
        if len(argv) > 1:
            fail(f"unexpected arguments {argv[1:]}")
        if not FLAGS["verbosity"].present:  # INFO lines (e.g. one per checkpoint) only
            logging.set_verbosity(logging.WARNING)  # with --verbosity=0
        from tfllm.training import TrainingDiverged

        try:
            main(argv)
        except (ValueError, KeyError, AttributeError, OSError, TrainingDiverged) as e:
            fail(one_line(e))

    from absl import logging

    def parse(argv):
        if "--help" in argv[1:] or "-h" in argv[1:]:
            print(sys.modules[main.__module__].__doc__.strip() + "\n")
            for module in sorted(FLAGS.flags_by_module_dict()):
                if module.startswith("tfllm."):
                    print(FLAGS.module_help(module))
            sys.exit(0)
        for arg in argv[1:]:
            if arg.startswith("--config="):
                path = arg.split("=", 1)[1].split(":", 1)[0]
                if not os.path.isfile(path):
                    fail(f"--config: no such file {path!r}")
        try:
            return FLAGS(argv)
        except Exception as e:  # config files run arbitrary code: any error is bad input
            fail(flag_error_message(e, argv))

    app.run(guarded, flags_parser=parse)


def one_line(error):
    """The informative line of an error's message: its first, or for an error raised in
    a traced TensorFlow function (whose message starts "in user code:" and the trace) the
    last, which says what was wrong."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[-1] if lines[0] == "in user code:" else lines[0]


def flag_error_message(error, argv):
    """One line for an error of parsing `argv`: an unknown --config field is named, with
    ml_collections' suggestion of the field meant (its KeyError text spans lines)."""
    text = str(error).strip()
    if text[:1] in ("'", '"'):
        try:  # KeyError's text is the repr of its message
            text = str(ast.literal_eval(text)).strip()
        except (ValueError, SyntaxError):
            pass
    key = text.splitlines()[0].strip("\"' ") if text else ""
    for arg in argv:
        field = arg.split("=", 1)[0]
        if arg.startswith("--config.") and key and key in field.split(".")[1:]:
            suggestion = re.search(r'Did you mean "([^"]+)"', text)
            return f"unknown config field {field}" + (
                f" (did you mean {suggestion.group(1)}?)" if suggestion else "")
    return text.splitlines()[-1] if text else type(error).__name__


def fail(message):
    """Prints `<program>: error: message` to stderr and exits with status 1."""
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    sys.exit(1)


def setup(config):
    """Seeds, op determinism and the Keras dtype policy (before any model is built)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.training.seed)
    if config.training.get("deterministic", False):
        tf.config.experimental.enable_op_determinism()
    policies = ("float32", "mixed_bfloat16", "mixed_float16")
    if config.training.precision not in policies:
        raise ValueError(f"config.training.precision={config.training.precision!r}: expected "
                         f"one of {policies}")
    keras.mixed_precision.set_dtype_policy(config.training.precision)


def make_strategy(config):
    """The --strategy; the CPU is split into --cpu_devices only for mirrored ones."""
    from tfllm.training import make_strategy as make

    cpus = 0 if FLAGS.strategy == "one_device" else FLAGS.cpu_devices
    return make(FLAGS.strategy, num_cpu_devices=cpus,
                tpu=config.training.get("tpu", ""))


def write_json(path, value):
    from tfllm.tokenizers.base import write_atomically
    write_atomically(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path):
    if not os.path.isfile(path):
        raise ValueError(f"{path}: missing (was the workdir made by tfllm-pretrain/finetune?)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------------------- corpus
def corpus_texts(config, split):
    """Texts of `split` ("train", "validation", "test"): config.data.files (every
    `validation_every`-th file is validation; a single file gives its last 5% of lines,
    at least one, to validation) or the embedded config.data.corpus."""
    from tfllm.data import corpora, sources

    data = config.data
    if data.get("files"):
        texts = list(sources.read_texts(data.files.split(","), suffixes=(".py", ".txt")))
        if len(texts) == 1:
            lines = texts[0].splitlines(keepends=True)
            if len(lines) < 2:
                raise ValueError(f"config.data.files: a single file of {len(lines)} line(s) "
                                 "cannot be split into train and validation text")
            cut = len(lines) - max(1, len(lines) // 20)
            return ["".join(lines[:cut] if split == "train" else lines[cut:])]
        every = int(data.get("validation_every", 20))
        texts = [t for i, t in enumerate(texts) if (i % every == 0) == (split != "train")]
        if not texts:
            raise ValueError(f"config.data.files: no {split} documents")
        return texts
    return corpora.load_from_config(data, split).texts


def tokenizer_for(config, workdir):
    """Loads `<workdir>/tokenizer`, or trains one from config.tokenizer and saves it there."""
    from tfllm.tokenizers import Tokenizer

    path = os.path.join(workdir, "tokenizer")
    if os.path.isdir(path):
        return Tokenizer.load(path)
    options = dict(config.tokenizer.get("options", {}))
    tokenizer = Tokenizer.train(corpus_texts(config, "train"), config.tokenizer.vocabulary_size,
                                kind=config.tokenizer.kind,
                                control_tokens=tuple(config.tokenizer.get("control_tokens", ())),
                                **options)
    tokenizer.save(path)
    return tokenizer


def lm_dataset(config, tokenizer, split, repeat):
    """Packed next-token batches (ARCHITECTURE.md keys) of config.training.batch_size rows.

    The one config -> LM data glue (tfllm.evaluation.phf.lm_dataset calls it). Training
    data (`repeat`) gets the data-side PHF transforms: filter_threshold / filter_percentile
    (filtering) and control-token drop (drop_token_probability); evaluation data keeps
    every control token (config.data.control_tokens: <|good|>/<|bad|> per segment).
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
                           repeat=repeat, reshuffle_each_iteration=repeat, **options)


def corpus_documents(config, split):
    """config.data.files' texts of `split`, else the corpus' scored documents."""
    from tfllm.data import corpora

    data = config.data
    if data.get("files"):
        return corpus_texts(config, split)
    return corpora.load_from_config(data, split)


def classification_dataset(config, tokenizer, path, train=False, drop_remainder=True):
    """Classification batches of `path` (text<TAB>label TSV or {text, label} JSONL),
    labels numbered by config.data.label_names; `train`: shuffled and repeated."""
    from tfllm.data.classification import make_classification_dataset

    return make_classification_dataset(
        path, tokenizer, int(config.data.sequence_length), int(config.training.batch_size),
        label_names=list(config.data.get("label_names") or ()) or None,
        seed=int(config.data.get("shuffle_seed", 0)), shuffle=train, repeat=train,
        drop_remainder=drop_remainder)


def seq2seq_pairs(config, split, path=""):
    """(source, target) pairs of `split` ("train" | "test") from `path` (TSV/JSONL), else
    config.data.<split>_file, else the embedded config.data.corpus ([] for a missing test split)."""
    from tfllm.data import corpora
    from tfllm.data.seq2seq import read_pairs

    path = path or config.data.get(f"{split}_file", "")
    if path:
        pairs = read_pairs(path)
    elif config.data.get("corpus"):
        pairs = list(corpora.load(config.data.corpus, split=split).pairs)
    elif split == "train":
        raise ValueError("seq2seq training needs --train_file, config.data.train_file "
                         "or config.data.corpus")
    else:
        return []
    limit = config.data.get("max_train_pairs", 0) if split == "train" else 0
    return pairs[:limit] if limit else pairs


# ----------------------------------------------------------------------------- model
MODEL_FILE = "model.json"


def build_model(config, vocabulary_size):
    """A new model from config.model: `kind` ("decoder_lm" | "seq2seq" |
    "encoder_classifier", whose num_classes defaults to len(config.data.label_names)),
    `preset`, overrides."""
    from tfllm.models import DECODER_PRESETS, DecoderLM, EncoderClassifier, Seq2SeqTransformer

    fields = dict(config.model)
    kind = fields.pop("kind", "decoder_lm")
    preset = fields.pop("preset", None)
    fields["vocabulary_size"] = vocabulary_size
    if kind == "decoder_lm":
        if preset and preset not in DECODER_PRESETS:
            raise ValueError(f"config.model.preset={preset!r}: expected one of "
                             f"{sorted(DECODER_PRESETS)}")
        base = dict(DECODER_PRESETS[preset]) if preset else {}
        return DecoderLM(**{**base, **fields})
    if kind == "seq2seq":
        return Seq2SeqTransformer(**fields)
    if kind == "encoder_classifier":
        fields.setdefault("num_classes", len(config.data.get("label_names") or ()))
        if fields["num_classes"] < 2:
            raise ValueError("encoder_classifier: config.data.label_names must name at "
                             "least 2 classes")
        return EncoderClassifier(**fields)
    raise ValueError(f"config.model.kind={kind!r}: expected 'decoder_lm', 'seq2seq' or "
                     "'encoder_classifier'")


def save_model_config(workdir, model):
    write_json(os.path.join(workdir, MODEL_FILE),
               {"class": type(model).__name__, "config": model.get_config()})


def _differences(old, new, prefix=""):
    """["field: old -> new", ...] between two JSON-like dicts (nested fields dotted)."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "(unset)"), new.get(key, "(unset)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


def write_run_metadata(workdir, config, model):
    """Writes config.json and model.json once a run is about to start (each atomically).

    In a workdir that already holds a run, a different model or tokenizer is an error
    naming the differing fields, and nothing is written: its checkpoints would restore
    only in part, and its files would stop describing them.
    """
    def shape(spec):
        # Keras numbers unnamed models per process ("decoder_lm_42"), also inside a
        # nested backbone's config; the dtype policy and trainability do not change what
        # the checkpoints hold.
        if isinstance(spec, dict):
            return {k: shape(v) for k, v in spec.items()
                    if k not in ("name", "dtype", "trainable")}
        return spec

    model_spec = json.loads(json.dumps({"class": type(model).__name__,
                                        "config": model.get_config()}, default=str))
    new_config = json.loads(json.dumps(config.to_dict(), default=str))
    model_path = os.path.join(workdir, MODEL_FILE)
    if os.path.exists(model_path):
        changed = _differences(shape(read_json(model_path)), shape(model_spec), "model.json ")
        config_path = os.path.join(workdir, "config.json")
        if os.path.exists(config_path):
            old = read_json(config_path)
            changed += _differences({"tokenizer": old.get("tokenizer", {})},
                                    {"tokenizer": new_config.get("tokenizer", {})}, "config.")
        if changed:
            raise ValueError(f"{workdir} holds a run with a different model or tokenizer "
                             f"({'; '.join(changed)}); use a new --workdir or remove the old "
                             f"one")
    write_json(os.path.join(workdir, "config.json"), new_config)
    save_model_config(workdir, model)


def load_model(workdir):
    """Rebuilds the model from `<workdir>/model.json` and restores the newest checkpoint."""
    import keras

    from tfllm.training import restore_model

    spec = read_json(os.path.join(workdir, MODEL_FILE))
    model = keras.saving.deserialize_keras_object(
        {"class_name": spec["class"], "config": spec["config"], "module": None,
         "registered_name": f"tfllm>{spec['class']}"})
    restore_model(os.path.join(workdir, "checkpoints"), model)
    return model


def load_model_and_tokenizer(workdir):
    """The workdir's model (`load_model`) and tokenizer, checked to belong together."""
    from tfllm.tokenizers import Tokenizer

    model = load_model(workdir)
    tokenizer = Tokenizer.load(os.path.join(workdir, "tokenizer"))
    tokenizer.check_model(model, workdir)
    return model, tokenizer


# --------------------------------------------------------------------------- training
def sample_fn(config, tokenizer):
    """`(model, seed) -> texts`: config.training.num_samples continuations of the prompt
    (DecoderLM: prompt + continuation, after the `<eos>` that starts every document of the
    LM pipeline; Seq2SeqTransformer: the decoded target)."""
    from tfllm.generation import generate

    from tfllm.models import Seq2SeqTransformer

    training = config.training
    text = tokenizer.encode(training.get("sample_prompt", ""))
    banned = list(tokenizer.control_token_ids.values())

    def sample(model, seed):
        # A Seq2SeqTransformer's prompt is its encoder input (source + <eos>).
        prompt = (text + [tokenizer.eos_id] if isinstance(model, Seq2SeqTransformer)
                  else [tokenizer.eos_id] + text)
        ids = generate(model, [prompt] * training.num_samples, training.sample_length,
                       sampler="top_k", k=training.get("sample_top_k", 40),
                       temperature=training.get("sample_temperature", 1.0), seed=seed,
                       stop_token_ids=[tokenizer.eos_id], banned_token_ids=banned,
                       pad_token_id=tokenizer.pad_id)
        return [tokenizer.decode(row) for row in ids]

    return sample


def generative(model):
    """Whether `model` generates text (sample_fn applies): not a classifier."""
    from tfllm.models import EncoderClassifier

    return not isinstance(model, EncoderClassifier)


def scorer_for(config):
    """`texts -> document scores` of the scorer named by config.training.sample_scorer."""
    name = config.training.get("sample_scorer", "")
    if not name:
        return None
    from tfllm.feedback import get_scorer

    scorer = get_scorer(name)
    return lambda texts: [scored.document_score for scored in scorer.score(texts)]


def flat_config(config, prefix=""):
    """A ConfigDict flattened to {"a.b": value} (for TensorBoard hparams)."""
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if hasattr(value, "items"):
            out.update(flat_config(value, name + "."))
        else:
            out[name] = value
    return out


def train_and_report(config, strategy, workdir, tokenizer, model, objective, train_data,
                     eval_data=None, scorer=None):
    """Trains with `make_trainer` (samples every N steps), writes config.json and
    model.json (`write_run_metadata`) and prints the outcome (`report`); the body of the
    training binaries."""
    trainer = make_trainer(config, strategy, workdir, model, objective, train_data, eval_data,
                           sample=sample_fn(config, tokenizer), scorer=scorer)
    tokenizer.check_model(trainer.model, workdir)
    write_run_metadata(workdir, config, trainer.model)
    result = trainer.train()
    trainer.close()
    report(result, trainer, config, tokenizer, workdir)


def make_trainer(config, strategy, workdir, model, objective, train_data, eval_data=None,
                 sample=None, scorer=None):
    """A Trainer configured by config.optimizer, config.schedule and config.training."""
    from tfllm.training import EarlyStopping, Trainer, WarmupDecay, make_optimizer

    t, o, s = config.training, config.optimizer, config.schedule
    if t.steps < 1:
        raise ValueError(f"config.training.steps={t.steps}: train for at least 1 step")
    schedule = WarmupDecay(s.peak_learning_rate, s.warmup_steps,
                           s.get("decay_steps", 0) or t.steps, s.decay,
                           s.get("final_fraction", 0.0))

    def optimizer():
        return make_optimizer(schedule, o.weight_decay, o.beta_1, o.beta_2, o.epsilon,
                              loss_scaling=t.precision == "mixed_float16")

    stopping = EarlyStopping(t.early_stopping_metric, t.early_stopping_mode,
                             t.early_stopping_patience) if t.get("early_stopping_metric") \
        else None
    profile = (t.profile_first, t.profile_last) if t.get("profile_first") else None
    return Trainer(
        model, objective, train_data, optimizer, total_steps=t.steps, workdir=workdir,
        strategy=strategy, eval_data=eval_data, eval_every=t.eval_every,
        eval_steps=t.eval_steps, accumulation_steps=t.accumulation_steps,
        clip_norm=t.clip_norm, jit_compile=t.jit_compile, nan_policy=t.nan_policy,
        log_every=t.log_every, checkpoint_every_steps=t.checkpoint_every_steps,
        checkpoint_every_minutes=t.checkpoint_every_minutes,
        keep_checkpoints=t.keep_checkpoints, early_stopping=stopping, sample_fn=sample,
        scorer=scorer,
        sample_every=t.sample_every, histogram_every=t.histogram_every,
        profile_steps=profile, hparams=flat_config(config), progress=t.progress,
        seed=t.seed)


def report(result, trainer, config, tokenizer, workdir):
    """Prints the run's outcome, a few samples and the TensorBoard command (chief only)."""
    if not trainer.chief:
        return
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.items())
                        if isinstance(v, float))
    print(f"step {result['step']} ({result['stopped']}): {metrics}")
    sampling = config.get("sampling", {})
    if sampling.get("show_control_tokens"):
        from tfllm.feedback import get_scorer
        from tfllm.generation.preference import control_token_report, control_token_samples

        scorer = get_scorer(sampling.scorer)
        samples = control_token_samples(
            trainer.model, tokenizer, scorer, sampling.num_samples, sampling.max_new_tokens,
            temperature=sampling.temperature, p=sampling.top_p, seed=sampling.seed,
            control_each_line=sampling.get("control_each_line", False),
            complete_lines=sampling.get("complete_lines", False))
        print(control_token_table(samples, scorer.name))
        print(control_token_report(samples, scorer.name, show=2))
        log_control_token_samples(workdir, result["step"], samples, scorer.name)
    elif config.training.get("num_samples") and generative(trainer.model):
        for i, text in enumerate(sample_fn(config, tokenizer)(trainer.model,
                                                              config.training.seed)):
            print(f"--- sample {i}\n{text}")
    print(tensorboard_command(workdir))


def control_token_table(samples, score_name, top_codes=4):
    """A table of `control_token_samples`: per control token, the mean score with its
    standard error, and for PEP8 the share of lines with each top code and the share of
    samples that parse as Python (`tfllm.evaluation.code_metrics`)."""
    import numpy as np

    controls = list(samples)
    rows = [("samples", [str(len(samples[c])) for c in controls])]
    scores = {c: np.array([s.score for s in samples[c]]) for c in controls}
    rows.append((f"{score_name} score, mean ± s.e.", [
        f"{scores[c].mean():.4f} ± {scores[c].std(ddof=1) / np.sqrt(len(scores[c])):.4f}"
        if len(scores[c]) > 1 else f"{scores[c].mean():.4f}" for c in controls]))
    if score_name == "pep8":
        from tfllm.evaluation.code_metrics import code_statistics

        stats = {c: code_statistics([s.text for s in samples[c]]) for c in controls}
        codes = []
        for c in controls:
            codes += [code for code in stats[c]["line_share"] if code not in codes][:top_codes]
        rows.append(("lines with any violation",
                     [f"{100 * stats[c]['bad_line_share']:.1f}%" for c in controls]))
        for code in codes:
            rows.append((f"lines with {code}", [
                f"{100 * stats[c]['line_share'].get(code, 0.0):.1f}%" for c in controls]))
        rows.append(("samples that parse (ast.parse)",
                     [f"{100 * stats[c]['parse_share']:.0f}%" for c in controls]))
    width = max(len(name) for name, _ in rows)
    cell = max([len(c) for c in controls] + [len(v) for _, values in rows for v in values])
    lines = [" " * width + "".join(f"  {c:>{cell}}" for c in controls)]
    lines += [f"{name:<{width}}" + "".join(f"  {v:>{cell}}" for v in values)
              for name, values in rows]
    return "\n".join(lines)


def log_control_token_samples(workdir, step, samples, score_name):
    """`control_token_samples` to the run's TensorBoard: each control token's texts with
    their scores (samples/good, samples/bad) and their mean score as a scalar."""
    from tfllm.training.summaries import Summaries, samples_markdown

    summaries = Summaries(os.path.join(workdir, "tensorboard"))
    for control, group in samples.items():
        name = control.strip("<|>")
        scores = [s.score for s in group]
        if not scores:
            continue
        summaries.text(step, f"samples/{name}", samples_markdown(
            [s.text for s in group], scores, f"{score_name} score"))
        summaries.scalars(step, {f"samples/{name}_mean_score": sum(scores) / len(scores)})
    summaries.close()


def tensorboard_command(workdir):
    """The command that opens TensorBoard on `workdir`: the `tensorboard` installed beside
    the running interpreter (e.g. .venv/bin/tensorboard, which is not on PATH), relative to
    the working directory where it lies below it."""
    program = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    if not os.path.exists(program):
        return f"tensorboard --logdir {workdir}"
    relative = os.path.relpath(program)
    return f"{program if relative.startswith('..') else relative} --logdir {workdir}"


def checkpoint_step(workdir):
    """The step number of the newest checkpoint in `<workdir>/checkpoints` (0 if none)."""
    import tensorflow as tf

    path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    return int(path.rsplit("-", 1)[1]) if path else 0
