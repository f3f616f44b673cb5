#!/usr/bin/env python3
"""Trains and evaluates the six PHF objectives on PEP8 at one token budget; writes the results.

    .venv/bin/python tools/phf_compare.py [--steps=600] [--objectives=mle,conditional]
        [--root=runs/phf_compare] [--out=docs/results]

Each objective is configs/phf_pep8.py:<objective> with the same model, data, tokenizer and
steps. MLE runs first and is the reference of every KL. Writes <out>/phf_pep8.json (per
objective: misalignment, fraction over threshold, validation loss, KL from MLE,
diversity, tokens trained, wall time), <out>/phf_pep8.md (a table) and
<out>/phf_pep8.png (misalignment against validation loss).
"""

import argparse
import importlib.util
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = (  # (metrics key, table header, format)
    ("unconditional/misalignment_per_char", "PEP8 violations/char", "{:.5f}"),
    ("unconditional/over_threshold", "frac. over threshold", "{:.3f}"),
    ("prompted/misalignment_per_char", "prompted viol./char", "{:.5f}"),
    ("validation/loss", "val. loss (nats/token)", "{:.4f}"),
    ("kl/per_token", "KL from MLE (nats/token)", "{:.4f}"),
    ("diversity/distinct_2", "distinct-2", "{:.3f}"),
    ("diversity/self_bleu", "Self-BLEU", "{:.1f}"),
    ("unconditional/mean_chars", "sample chars", "{:.0f}"),
    ("tokens_trained", "tokens trained", "{:,}"),
    ("train_s", "train s", "{:.0f}"),
    ("wall_s", "train+eval s", "{:.0f}"),
)


def load_config(objective):
    path = os.path.join(ROOT, "configs", "phf_pep8.py")
    spec = importlib.util.spec_from_file_location("phf_pep8", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(objective)


def train_and_evaluate(config, workdir):
    """Trains one objective in-process and runs the PHF evaluation; returns its metrics."""
    from tfllm.bin import common
    from tfllm.evaluation import phf
    from tfllm.objectives import get_objective

    common.setup(config)
    tokenizer = common.tokenizer_for(config, workdir)
    objective = get_objective(config.objective.name, **dict(config.objective.options))
    train_data = phf.lm_dataset(config, tokenizer, "train", repeat=True)
    trainer = common.make_trainer(
        config, None, workdir, lambda: common.build_model(config, tokenizer.vocabulary_size),
        objective, train_data)
    common.save_model_config(workdir, trainer.model)
    start = time.time()
    result = trainer.train()
    trainer.close()
    train_s = time.time() - start
    reference = common.load_model(config.evaluation.reference_workdir)
    metrics = phf.evaluate(config, trainer.model, tokenizer, workdir, reference=reference)
    t = config.training
    metrics.update(tokens_trained=int(result["step"]) * t.batch_size * config.data.sequence_length,
                   steps=int(result["step"]), train_s=train_s, wall_s=time.time() - start)
    return metrics


def markdown(results, args):
    lines = ["# Pretraining with human preferences: PEP8 on python_stdlib_code", "",
             f"Budget: {args.steps} steps x {args.batch_size} rows x {args.sequence_length} "
             f"tokens per objective ({args.tokenizer} tokenizer of {args.vocabulary_size} "
             f"tokens, configs/phf_pep8.py model), "
             f"{args.max_files or 'all'} stdlib files; {args.num_samples} unconditional "
             f"samples of at most {args.max_new_tokens} tokens; measured by "
             "`tools/phf_compare.py` on a shared 2-core CPU. Lower misalignment is better; "
             "samples at temperature 0.7, top-p 0.9 "
             "(conditional: `<|good|>` first and after every line break, as in training; "
             "the start-only protocol is reported below the table).", "",
             "Method (tfllm/evaluation/phf.py): violations/char are pycodestyle violations "
             "over characters of all samples, each scored up to its last complete line; "
             "'prompted' continues the first lines of held-out (test) files; the validation "
             "loss is measured on the data as each objective trains on it (conditional: with "
             "control tokens, whose labels are not counted; filtering: unfiltered); KL is the "
             "Monte-Carlo estimate on temperature-1 samples against the MLE run (for MLE "
             "itself only the banned control tokens' mass)."
             + (" Run with --resume: a run continued from a checkpoint counts only its last "
                "part in 'train s'." if getattr(args, "resume", False) else ""), "",
             "| objective | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for name, metrics in results.items():
        cells = [fmt.format(metrics[key]) if key in metrics else "n/a"
                 for key, _, fmt in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "mle" in results and "conditional" in results:
        mle, cond = results["mle"], results["conditional"]
        ratio = (mle["unconditional/misalignment_per_char"]
                 / max(cond["unconditional/misalignment_per_char"], 1e-12))
        loss_ratio = cond["validation/loss"] / mle["validation/loss"]
        lines += ["", f"Conditional vs MLE: {ratio:.2f}x fewer violations per character "
                  f"(target >= 5x), validation loss ratio {loss_ratio:.3f} (target <= 1.05)."]
        if "start_only/unconditional/misalignment_per_char" in cond:
            lines += ["", "Conditional with the start-only protocol (`<|good|>` once, then both "
                      "control tokens banned): "
                      f"{cond['start_only/unconditional/misalignment_per_char']:.5f} "
                      "violations/char unconditional, "
                      f"{cond['start_only/prompted/misalignment_per_char']:.5f} prompted; mean "
                      f"sample {cond['start_only/unconditional/mean_chars']:.0f} characters (a "
                      "line break is followed by a banned token, and much of the rest of the "
                      "mass is `<eos>`)."]
    lines += ["", "Most frequent pycodestyle codes in the samples (unconditional and prompted "
              "continuations together), per 1000 sample characters; the last row is the "
              "validation split itself (what imitating the data perfectly would score). "
              "The group columns split every code into E9 (syntax and tokenize errors), E1 "
              "(indentation) and the rest (whitespace, blank lines, imports, line length, "
              "statements, W: what a style guide is about):", "",
              "| objective | sample chars | E9 | E1 | rest | top codes |",
              "|---|---|---|---|---|---|"]
    rows = dict(results)
    rows["(validation data)"] = {"violation_codes": data_violation_codes(args.max_files)}
    group_rates = {}  # per objective: (E9, E1, rest) violations per character
    for name, metrics in rows.items():
        codes = metrics.get("violation_codes", {})
        chars = max(codes.get("chars", 0), 1)
        top = sorted(codes.get("counts", {}).items(), key=lambda kv: -kv[1])[:6]
        text = ", ".join(f"{code} {1000 * n / chars:.1f}" for code, n in top)
        group_rates[name] = [n / chars for n in code_groups(codes.get("counts", {}))]
        groups = " | ".join(f"{1000 * rate:.2f}" for rate in group_rates[name])
        lines.append(f"| {name} | {codes.get('chars', 0)} | {groups} | {text} |")
    data = rows["(validation data)"]["violation_codes"]
    lines += ["", f"The validation data has {data['violations_per_char']:.5f} violations/char "
              f"and {100 * data['bad_line_fraction']:.1f}% of its lines have one."]
    if "mle" in results and "conditional" in results:
        rest_ratio = group_rates["mle"][2] / max(group_rates["conditional"][2], 1e-12)
        lines += [f"Counting only the 'rest' group (style, without syntax and indentation "
                  f"errors), conditional has {rest_ratio:.2f}x fewer violations per character "
                  "than MLE."]
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


def data_violation_codes(max_files):
    """code_counts of the validation split, with violations_per_char and bad_line_fraction."""
    from tfllm.data import corpora

    documents = corpora.load("python_stdlib_code", "validation",
                             max_files=max_files or None).documents
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objectives", default="mle,filtering,conditional,unlikelihood,rwr,awr")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--sequence_length", type=int, default=128)
    parser.add_argument("--max_files", type=int, default=0, help="0: every stdlib file")
    parser.add_argument("--tokenizer", default="sentencepiece", help="sentencepiece | byte")
    parser.add_argument("--vocabulary_size", type=int, default=2048)
    parser.add_argument("--num_samples", type=int, default=64)
    parser.add_argument("--max_new_tokens", type=int, default=128)
    parser.add_argument("--root", default=os.path.join(ROOT, "runs", "phf_compare"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "results"))
    parser.add_argument("--reevaluate", action="store_true",
                        help="reuse finished runs under --root: only evaluate them again, "
                        "keeping the train_s / wall_s recorded in <out>/phf_pep8.json")
    parser.add_argument("--report_only", action="store_true",
                        help="only rewrite <out>/phf_pep8.md and .png from <out>/phf_pep8.json")
    parser.add_argument("--resume", action="store_true",
                        help="continue runs already under --root from their last checkpoint "
                        "(train s then counts only this process's part)")
    args = parser.parse_args(argv)
    objectives = args.objectives.split(",")
    if objectives[0] != "mle":
        raise SystemExit("phf_compare: --objectives must start with mle (the KL reference)")
    sys.path.insert(0, ROOT)
    results_path = os.path.join(args.out, "phf_pep8.json")
    if args.report_only:
        with open(results_path, encoding="utf-8") as f:
            saved = json.load(f)
        budget = argparse.Namespace(**saved["budget"])
        order = budget.objectives.split(",")  # phf_pep8.json's keys are sorted
        results = dict(sorted(saved["results"].items(),
                              key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
        write_report(results, budget, args.out)
        return
    previous = {}
    if args.reevaluate:
        with open(results_path, encoding="utf-8") as f:
            previous = json.load(f)["results"]
    results = {}
    for name in objectives:
        config = load_config(name)
        config.training.steps = args.steps
        config.training.batch_size = args.batch_size
        config.data.sequence_length = args.sequence_length
        config.data.max_files = args.max_files
        config.tokenizer.kind = args.tokenizer
        config.tokenizer.vocabulary_size = args.vocabulary_size
        config.evaluation.num_samples = args.num_samples
        config.evaluation.max_new_tokens = args.max_new_tokens
        config.evaluation.reference_workdir = os.path.join(args.root, "mle")
        config.training.progress = False
        workdir = os.path.join(args.root, name)
        if os.path.isdir(workdir) != args.reevaluate and not args.resume:
            raise SystemExit(f"phf_compare: {workdir} must {'' if args.reevaluate else 'not '}"
                             "exist (see --reevaluate and --root)")
        results[name] = train_and_evaluate(config, workdir)
        results[name]["violation_codes"] = violation_codes(workdir)
        if args.reevaluate:  # the trainer found the finished run and trained no step
            results[name].update({k: previous[name][k] for k in ("train_s", "wall_s")})
        print(json.dumps({name: results[name]}), flush=True)
        os.makedirs(args.out, exist_ok=True)
        with open(results_path, "w", encoding="utf-8") as f:
            json.dump({"budget": vars(args), "results": results}, f, indent=2, sort_keys=True)
        write_report(results, args, args.out)


def write_report(results, args, out):
    with open(os.path.join(out, "phf_pep8.md"), "w", encoding="utf-8") as f:
        f.write(markdown(results, args))
    plot(results, os.path.join(out, "phf_pep8.png"))


if __name__ == "__main__":
    main()
