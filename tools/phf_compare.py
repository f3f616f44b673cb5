#!/usr/bin/env python3
"""Trains and evaluates the six PHF objectives on PEP8 at one token budget; writes the results.

    .venv/bin/python tools/phf_compare.py [--objectives=mle,conditional] [--finetune=0.25]
        [--steps=N] [--name=phf_pep8_installed] [--root=runs/phf_compare] [--out=docs/results]

Each objective is `tfllm-pretrain --config=configs/phf_pep8.py:<objective>` (same corpus,
model, tokenizer and steps; --steps overrides the config's, --override=key=value any
field), then `tfllm-evaluate` of the workdir (tfllm.evaluation.phf). MLE runs first and
is the reference of every KL.
With --finetune=F two more runs compare pretraining with feedback against finetuning
with it at the same total tokens: MLE for (1 - F) of the steps, then conditional
training from its weights for the remaining F ("mle_then_conditional"), beside
conditional from scratch. Writes <out>/<name>.json (per run: the metrics of
tfllm.evaluation.phf, tokens trained, the seconds of the tfllm-pretrain process with its
data and tokenizer setup), <out>/<name>.md (tables) and
<out>/<name>.png (misalignment against validation loss). Finished runs stay under
--root; --resume continues interrupted ones from their checkpoints.
"""

import argparse
import ast
import importlib.util
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = (  # (metrics key, table header, format)
    ("unconditional/misalignment_per_char", "PEP8 violations/char [95% CI]", "{:.5f}"),
    ("unconditional/over_threshold", "frac. over threshold", "{:.3f}"),
    ("unconditional/parse_share", "parses", "{:.2f}"),
    ("unconditional/no_e9_share", "no E9", "{:.2f}"),
    ("prompted/misalignment_per_char", "prompted viol./char", "{:.5f}"),
    ("prompted/parse_share", "prompted parses", "{:.2f}"),
    ("prompted/tokenizing_line_share", "prompted lines tokenize", "{:.2f}"),
    ("prompted/empty_share", "prompted empty", "{:.2f}"),
    ("validation/loss", "val. loss (nats/token)", "{:.4f}"),
    ("validation/bits_per_character", "val. bits/char", "{:.3f}"),
    ("kl/per_token", "KL from MLE (nats/token)", "{:.4f}"),
    ("diversity/distinct_2", "distinct-2", "{:.3f}"),
    ("diversity/self_bleu", "Self-BLEU", "{:.1f}"),
    ("leakage/unconditional", "leaked (50-char span)", "{:.3f}"),
    ("unconditional/mean_chars", "sample chars", "{:.0f}"),
    ("tokens_trained", "tokens trained", "{:,}"),
    ("train_s", "train s", "{:.0f}"),
)


def load_config(spec):
    path = os.path.join(ROOT, "configs", "phf_pep8.py")
    module = importlib.util.spec_from_file_location("phf_pep8", path)
    loaded = importlib.util.module_from_spec(module)
    module.loader.exec_module(loaded)
    return loaded.get_config(spec)


def run_binary(module, args):
    """`python -m module args` from the repository (its tfllm); stops on a failure."""
    command = [sys.executable, "-m", module, *args]
    print(" ".join(command), flush=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode:
        raise SystemExit(f"phf_compare: {module} failed: {' '.join(command)}")


def train_and_evaluate(spec, workdir, overrides, evaluate=True):
    """tfllm-pretrain of configs/phf_pep8.py:<spec> with the --config.<key>=<value>
    `overrides` (config.init_from: continue from that run), then tfllm-evaluate's phf
    evaluation; returns its metrics with the tokens trained and the seconds taken."""
    args = [f"--config={os.path.join(ROOT, 'configs', 'phf_pep8.py')}:{spec}",
            f"--workdir={workdir}", *[f"--config.{k}={v}" for k, v in overrides.items()]]
    start = time.time()
    run_binary("tfllm.bin.pretrain", args)
    train_s = time.time() - start
    metrics = {}
    if evaluate:
        run_binary("tfllm.bin.evaluate", args)
        with open(os.path.join(workdir, "eval", "metrics.json"), encoding="utf-8") as f:
            metrics = json.load(f)
    config = load_config(spec)
    steps = checkpoint_step(workdir)
    metrics.update(tokens_trained=steps * config.training.batch_size
                   * config.data.sequence_length, steps=steps, train_s=train_s,
                   wall_s=time.time() - start)
    return metrics


def _cell(metrics, key, fmt):
    if key not in metrics:
        return "n/a"
    text = fmt.format(metrics[key])
    low, high = metrics.get(key + "_low"), metrics.get(key + "_high")
    return text if low is None else f"{text} [{fmt.format(low)}, {fmt.format(high)}]"


def markdown(results, budget):
    config = load_config("mle")
    config.update_from_flattened_dict(budget.get("overrides", {}))
    lines = [f"# Pretraining with human preferences: PEP8 on {budget['corpus']}", "",
             f"Budget: {budget['steps']} steps x {config.training.batch_size} rows x "
             f"{config.data.sequence_length} tokens per run; configs/phf_pep8.py (corpus "
             f"options {budget['corpus_options']}, its model, tokenizer, recipe and "
             f"evaluation: {config.evaluation.num_samples} unconditional samples of at most "
             f"{config.evaluation.max_new_tokens} tokens, {config.evaluation.num_prompts} "
             "prompted ones); measured by `tools/phf_compare.py` "
             f"({budget['command']}) on a 2-core CPU. Lower misalignment is better; samples "
             "at temperature 0.7, top-p 0.9 (conditional: `<|good|>` first and after every "
             "line break, as in training).", "",
             "Method (tfllm/evaluation/phf.py): violations/char are pycodestyle violations "
             "over characters of all samples, each scored up to its last complete line, "
             "with a 95% bootstrap interval over samples; 'parses' is the share of samples "
             "that `ast.parse` accepts, 'no E9' the share without tokenize errors; "
             "'prompted' continues held-out functions' signatures and docstrings; 'lines "
             "tokenize' is the mean share of a continuation's lines before its first "
             "`tokenize` error, 'empty' the share of continuations without a complete "
             "non-blank line (they count as not parsing, no line tokenizing); the "
             "validation loss is measured on the data as each objective trains on it "
             "(conditional: with control tokens, whose labels are not counted; filtering: "
             "unfiltered); KL is the Monte-Carlo estimate on temperature-1 samples against "
             "the MLE run; 'leaked' is the share of unconditional samples repeating a "
             "50-character span of the training split verbatim.", "",
             "| run | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for name, metrics in results.items():
        cells = [_cell(metrics, key, fmt) for key, _, fmt in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    per_char = "unconditional/misalignment_per_char"
    if "mle" in results:
        mle = results["mle"]
        lines += ["", "Against MLE (violations per character: how many times fewer; "
                  "validation loss: ratio):", ""]
        for name, metrics in results.items():
            if name != "mle" and per_char in metrics:
                lines.append(f"- {name}: {mle[per_char] / max(metrics[per_char], 1e-12):.2f}x "
                             f"fewer violations/char, validation loss "
                             f"{metrics['validation/loss'] / mle['validation/loss']:.3f}x")
        lines += ["", "Targets (issue): conditional >= 3x fewer violations per character "
                  "than MLE at <= 1.05x its validation loss."]
    lines += ["", "Most frequent pycodestyle codes in the samples (unconditional and prompted "
              "continuations together), per 1000 sample characters; the last row is the "
              "validation split itself (what imitating the data perfectly would score). "
              "E9: syntax and tokenize errors, E1: indentation, rest: whitespace, blank "
              "lines, imports, line length, statements, W:", "",
              "| run | sample chars | E9 | E1 | rest | top codes |",
              "|---|---|---|---|---|---|"]
    rows = {k: v for k, v in results.items() if "violation_codes" in v}
    rows["(validation data)"] = {"violation_codes": budget["data_codes"]}
    for name, metrics in rows.items():
        codes = metrics["violation_codes"]
        chars = max(codes.get("chars", 0), 1)
        top = sorted(codes.get("counts", {}).items(), key=lambda kv: -kv[1])[:6]
        text = ", ".join(f"{code} {1000 * n / chars:.1f}" for code, n in top)
        groups = " | ".join(f"{1000 * n / chars:.2f}" for n in code_groups(codes["counts"]))
        lines.append(f"| {name} | {codes.get('chars', 0)} | {groups} | {text} |")
    data = budget["data_codes"]
    lines += ["", f"The validation data has {data['violations_per_char']:.5f} violations/char "
              f"and {100 * data['bad_line_fraction']:.1f}% of its lines have one."]
    return "\n".join(lines) + "\n"


def code_counts(texts):
    """{"chars": n, "counts": {code: n}}: pycodestyle codes summed over `texts`."""
    import collections

    from tfllm.feedback.pycodestyle_counts import pep8_violation_codes

    counts = sum((pep8_violation_codes(text) for text in texts), collections.Counter())
    return {"chars": sum(len(text) for text in texts), "counts": dict(counts)}


def code_groups(counts):
    """(E9, E1, rest) totals of a {code: n} mapping."""
    syntax = sum(n for code, n in counts.items() if code.startswith("E9"))
    indentation = sum(n for code, n in counts.items() if code.startswith("E1"))
    return syntax, indentation, sum(counts.values()) - syntax - indentation


def data_violation_codes(config):
    """code_counts of the validation split, with violations_per_char and bad_line_fraction."""
    from tfllm.data import corpora

    documents = corpora.load_from_config(config.data, "validation").documents
    result = code_counts([document.text for document in documents])
    scores = [score for document in documents for score in document.segment_scores]
    result["violations_per_char"] = sum(result["counts"].values()) / max(result["chars"], 1)
    result["bad_line_fraction"] = sum(score > 0 for score in scores) / max(len(scores), 1)
    return result


def violation_codes(workdir):
    """code_counts of the continuations in <workdir>/eval/samples.json."""
    with open(os.path.join(workdir, "eval", "samples.json"), encoding="utf-8") as f:
        samples = json.load(f)
    return code_counts([s["text"] for group in samples.values() for s in group if s["text"]])


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, m in results.items():
        x, y = m["validation/loss"], m["unconditional/misalignment_per_char"]
        ax.scatter([x], [y])
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel("validation LM loss (nats/token)")
    ax.set_ylabel("PEP8 violations per character of samples")
    ax.set_title("PHF objectives on PEP8: misalignment vs LM loss")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_spec(name, corpus):
    """configs/phf_pep8.py's variant for objective `name` on `corpus` ("": its own)."""
    return name if not corpus or corpus == load_config(name).data.corpus else f"{name},{corpus}"


def overrides(steps, root, extra, init=""):
    """The --config.* values of one run: its steps, the MLE run as the KL reference, no
    progress bar, the --override values, and the run to start from (if any)."""
    values = {"training.steps": steps, "evaluation.reference_workdir": os.path.join(root, "mle"),
              "training.progress": False, **extra}
    return {**values, "init_from": init} if init else values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objectives", default="mle,filtering,conditional,unlikelihood,rwr,awr")
    parser.add_argument("--finetune", type=float, default=0.0,
                        help="F in (0, 1): also MLE for 1 - F of the steps, then conditional")
    parser.add_argument("--steps", type=int, default=0, help="0: configs/phf_pep8.py's")
    parser.add_argument("--corpus", default="", help="default: configs/phf_pep8.py's")
    parser.add_argument("--name", default="phf_pep8_installed", help="results file stem")
    parser.add_argument("--root", default=os.path.join(ROOT, "runs", "phf_compare"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "results"))
    parser.add_argument("--report_only", action="store_true",
                        help="only rewrite <out>/<name>.md and .png from <out>/<name>.json")
    parser.add_argument("--override", action="append", default=[],
                        help="key=value: a --config.key=value of every run (a small check)")
    parser.add_argument("--resume", action="store_true",
                        help="continue runs already under --root from their last checkpoint "
                        "and keep finished ones (train s then counts only the last part)")
    args = parser.parse_args(argv)
    objectives = args.objectives.split(",")
    if objectives[0] != "mle":
        raise SystemExit("phf_compare: --objectives must start with mle (the KL reference)")
    if not 0.0 <= args.finetune < 1.0:
        raise SystemExit(f"phf_compare: --finetune={args.finetune} is not in [0, 1)")
    sys.path.insert(0, ROOT)
    results_path = os.path.join(args.out, args.name + ".json")
    if args.report_only:
        with open(results_path, encoding="utf-8") as f:
            saved = json.load(f)
        write_report(saved["results"], saved["budget"], args.out, args.name)
        return
    extra = dict(parse_override(o) for o in args.override)
    corpus = args.corpus or load_config("mle").data.corpus
    mle = load_config(run_spec("mle", corpus))
    mle.update_from_flattened_dict(extra)
    steps = args.steps or mle.training.steps
    budget = {"steps": steps, "corpus": corpus, "objectives": objectives,
              "corpus_options": dict(mle.data.corpus_options), "finetune": args.finetune,
              "overrides": extra,
              "command": "tools/phf_compare.py " + " ".join(sys.argv[1:] if argv is None
                                                            else argv),
              "data_codes": data_violation_codes(mle)}
    runs = [(name, run_spec(name, corpus), overrides(steps, args.root, extra))
            for name in objectives]
    if args.finetune:
        first = round(steps * (1 - args.finetune))
        runs.append(("mle_part", run_spec("mle", corpus), overrides(first, args.root, extra)))
        runs.append(("mle_then_conditional", run_spec("conditional", corpus),
                     overrides(steps - first, args.root, extra,
                               init=os.path.join(args.root, "mle_part"))))
    previous = {}
    if args.resume and os.path.exists(results_path):
        with open(results_path, encoding="utf-8") as f:
            previous = json.load(f)["results"]
    results = {}
    for name, spec, values in runs:
        workdir = os.path.join(args.root, name)
        if os.path.isdir(workdir) and not args.resume:
            raise SystemExit(f"phf_compare: {workdir} exists (pass --resume, or another --root)")
        finished = checkpoint_step(workdir) >= values["training.steps"]
        metrics = train_and_evaluate(spec, workdir, values, evaluate=name != "mle_part")
        if name == "mle_part":
            continue
        if finished and name in previous:  # evaluated again: keep the training time
            metrics["train_s"] = previous[name]["train_s"]
        metrics["violation_codes"] = violation_codes(workdir)
        if "init_from" in values:
            metrics["tokens_trained"] += results_tokens(args.root, "mle_part", mle)
        results[name] = metrics
        print(json.dumps({name: metrics}), flush=True)
        os.makedirs(args.out, exist_ok=True)
        with open(results_path, "w", encoding="utf-8") as f:
            json.dump({"budget": budget, "results": results}, f, indent=2, sort_keys=True)
        write_report(results, budget, args.out, args.name)


def parse_override(text):
    """"key=value" of --override: the value as a Python literal, else as a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SystemExit(f"phf_compare: --override {text!r} is not key=value")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def checkpoint_step(workdir):
    from tfllm.bin import common

    return common.checkpoint_step(workdir) if os.path.isdir(workdir) else 0


def results_tokens(root, name, config):
    """Tokens trained by the run <root>/<name> (its last checkpoint's step)."""
    step = checkpoint_step(os.path.join(root, name))
    return step * config.training.batch_size * config.data.sequence_length


def write_report(results, budget, out, name):
    with open(os.path.join(out, name + ".md"), "w", encoding="utf-8") as f:
        f.write(markdown(results, budget))
    plot(results, os.path.join(out, name + ".png"))


if __name__ == "__main__":
    main()
