"""Plumbing shared by the binaries: flags, one-line errors, the workdir's metadata and the
report of a run. What the binaries build from a config lives in tfllm.experiment.

Workdir layout (everything a later binary needs to rebuild the run):

    <workdir>/config.json        the full experiment config
    <workdir>/model.json         {"class": ..., "config": model.get_config()}
    <workdir>/tokenizer/         the tokenizer (trained once, then loaded)
    <workdir>/checkpoints/       tf.train.CheckpointManager files (of a LoRA run: the merged
                                 model, written when it ends)
    <workdir>/lora_checkpoints/  a LoRA run's training checkpoints (adapters, optimizer, step)
    <workdir>/adapters.lora.h5   a LoRA run's adapters alone, written when it ends
    <workdir>/tensorboard/       TensorBoard events (tfllm-evaluate: the run tensorboard/eval)
"""

import ast
import json
import os
import re
import sys

from absl import app, flags
from ml_collections import config_flags

from tfllm import native_log
from tfllm.experiment import MODEL_FILE, check_training, make_trainer, read_json, sample_fn

FLAGS = flags.FLAGS


def define_flags(config="required", strategy=True):
    """--workdir; --config (ml_collections config file, fields overridable) if `config` is
    "required" or "optional"; --strategy and --cpu_devices if `strategy` (the binaries
    that train). A binary defines only the flags it reads.

    Nothing here imports TensorFlow: flag errors print one clean line.
    """
    if config not in ("required", "optional", None):
        raise ValueError(f"config={config!r}: expected 'required', 'optional' or None")
    flags.DEFINE_string("workdir", None, "run directory: checkpoints, TensorBoard, tokenizer",
                        required=True)
    if config:
        config_flags.DEFINE_config_file(
            "config", None, "experiment config file (configs/*.py); override fields with "
            "--config.section.field=value", lock_config=True)
    if config == "required":
        flags.mark_flag_as_required("config")
    if strategy:
        flags.DEFINE_string("strategy", "one_device", "tf.distribute strategy: one_device, "
                            "mirrored, multi_worker_mirrored or tpu")
        flags.DEFINE_integer("cpu_devices", 2, "logical CPU devices for --strategy=mirrored "
                             "without GPUs")


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
            args = FLAGS(argv)
        except Exception as e:  # config files run arbitrary code: any error is bad input
            fail(flag_error_message(e, argv))
        set_compilation_flags(FLAGS["config"].value if "config" in FLAGS else None)
        return args

    app.run(guarded, flags_parser=parse)


# The compute dtype of each precision (Keras' policies), known before Keras is asked.
COMPUTE_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def set_compilation_flags(config):
    """The TF_XLA_FLAGS of config.training's step (tfllm.training.compilation: the
    bfloat16 path clusters the ops between oneDNN's products). Set while absl parses the
    flags: once app.run goes on to main, TensorFlow has read TF_XLA_FLAGS for good
    (measured: set in main, even before the first graph, they are ignored)."""
    from tfllm.training.compilation import resolve_jit_compile

    training = (config or {}).get("training") or {}
    compute_dtype = COMPUTE_DTYPES.get(training.get("precision"))
    if compute_dtype:  # else setup() names the bad precision
        resolve_jit_compile(training.get("jit_compile", "auto"), compute_dtype)


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
    """Seeds, op determinism and the Keras dtype policy (before any model is built or
    graph run); training fields that cannot run are refused first."""
    import keras
    import tensorflow as tf

    check_training(config)
    if config.training.precision not in COMPUTE_DTYPES:
        raise ValueError(f"config.training.precision={config.training.precision!r}: expected "
                         f"one of {tuple(COMPUTE_DTYPES)}")
    keras.mixed_precision.set_dtype_policy(config.training.precision)
    keras.utils.set_random_seed(config.training.seed)
    if config.training.get("deterministic", False):
        tf.config.experimental.enable_op_determinism()


def make_strategy(config):
    """The --strategy; the CPU is split into --cpu_devices only for mirrored ones."""
    from tfllm.training import make_strategy as make

    cpus = 0 if FLAGS.strategy == "one_device" else FLAGS.cpu_devices
    return make(FLAGS.strategy, num_cpu_devices=cpus,
                tpu=config.training.get("tpu", ""))


def write_json(path, value):
    from tfllm.files import write_atomically
    write_atomically(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def save_model_config(workdir, model):
    """Writes `<workdir>/model.json`, which `tfllm.experiment.load_model` rebuilds."""
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


# --------------------------------------------------------------------------- training
def generative(model):
    """Whether `model` generates text (sample_fn applies): not a classifier."""
    from tfllm.models import EncoderClassifier

    return not isinstance(model, EncoderClassifier)


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
    samples that parse as Python, the mean share of their lines that tokenize and the
    empty samples (`tfllm.evaluation.code_metrics`)."""
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
        rows.append(("lines that tokenize",
                     [f"{100 * stats[c]['tokenizing_line_share']:.0f}%" for c in controls]))
        rows.append(("empty samples (no complete line)",
                     [str(stats[c]["empty_samples"]) for c in controls]))
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
