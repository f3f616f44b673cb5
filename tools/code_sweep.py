#!/usr/bin/env python3
"""Runs the IsoFLOP-style sweep of configs/code_sweep.py and writes its report.

    .venv/bin/python tools/code_sweep.py [--root=runs/code_sweep] [--out=docs/results]
        [--only=S,7.5;M,7.5] [--report_only]

Every (size, minutes) of configs/code_sweep.py:GRID in order, then the 60-minute run of
the size with the lowest validation bits per character at 30 minutes: `tfllm-pretrain`
(which resumes an interrupted run from its last checkpoint) and `tfllm-evaluate` (mode
"lm": bits per byte and per character on all of the validation split, parse and
tokenize shares of held-out prompted continuations and unconditional samples). A run
whose evaluation exists, or whose row <out>/code_sweep.json already records, is kept (runs
do not outlive a session; the report does), and so is every recorded row outside --only.
The runs share one tokenizer, <out>/code_sweep_tokenizer: trained by the first run that
finds none, copied into the others. Writes <out>/code_sweep.json (per run: its metrics,
steps, tokens and training seconds), <out>/code_sweep_table.md (a table) and
<out>/code_sweep.png (validation bits per character against parameters, one line per
budget).
"""

import argparse
import importlib.util
import json
import os
import shutil
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path[:0] = [TOOLS, ROOT]
from phf_compare import checkpoint_step, run_binary  # noqa: E402

CONFIG = os.path.join(ROOT, "configs", "code_sweep.py")
NAME = "code_sweep"
COLUMNS = (  # (metrics key, table header, format)
    ("bits_per_character", "val. bits/char", "{:.4f}"),
    ("bits_per_byte", "val. bits/byte", "{:.4f}"),
    ("prompted/parse_share", "prompted parses", "{:.3f}"),
    ("prompted/tokenizing_line_share", "prompted lines tokenize", "{:.3f}"),
    ("prompted/empty_share", "prompted empty", "{:.3f}"),
    ("unconditional/parse_share", "samples parse", "{:.3f}"),
    ("unconditional/tokenizing_line_share", "sample lines tokenize", "{:.3f}"),
    ("unconditional/empty_share", "samples empty", "{:.3f}"),
    ("params", "params", "{:,}"),
    ("tokens_trained", "tokens", "{:,}"),
    ("train_s", "train s", "{:.0f}"),
)


def sweep_module():
    spec = importlib.util.spec_from_file_location("code_sweep_config", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spec_of(size, minutes):
    return f"{size},{minutes:g}"


def train_seconds(workdir):
    """Training seconds: steps times the mean of the logged train/step_time_s (the
    Trainer's step time, without evaluation, checkpoints or data setup)."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    accumulator = event_accumulator.EventAccumulator(
        os.path.join(workdir, "tensorboard"), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    times = [float(tensor_util.make_ndarray(e.tensor_proto))
             for e in accumulator.Tensors("train/step_time_s")]
    return checkpoint_step(workdir) * sum(times) / len(times)


def run(size, minutes, root, shared_tokenizer):
    """Trains and evaluates one run (unless evaluated already); returns its record."""
    workdir = os.path.join(root, f"{size}_{minutes:g}")
    metrics_path = os.path.join(workdir, "eval", "metrics.json")
    if not os.path.exists(metrics_path):
        tokenizer = os.path.join(workdir, "tokenizer")
        if os.path.isdir(shared_tokenizer) and not os.path.isdir(tokenizer):
            os.makedirs(workdir, exist_ok=True)
            shutil.copytree(shared_tokenizer, tokenizer)
        args = [f"--config={CONFIG}:{spec_of(size, minutes)}", f"--workdir={workdir}"]
        run_binary("tfllm.bin.pretrain", args)
        if not os.path.isdir(shared_tokenizer):
            shutil.copytree(tokenizer, shared_tokenizer)
        run_binary("tfllm.bin.evaluate", args)
    with open(metrics_path, encoding="utf-8") as f:
        metrics = json.load(f)
    from tfllm import experiment

    params = experiment.load_model(workdir).count_params()
    sweep = sweep_module()
    steps = checkpoint_step(workdir)
    return {"size": size, "minutes": minutes, "workdir": workdir, "steps": steps,
            "tokens_trained": steps * sweep.BATCH_SIZE * sweep.SEQUENCE_LENGTH,
            "train_s": train_seconds(workdir), "params": params, **metrics}


def best_size(results, minutes):
    """The size with the lowest validation bits per character at `minutes`."""
    rows = [r for r in results if r["minutes"] == minutes]
    if not rows:
        raise SystemExit(f"code_sweep: no {minutes}-minute runs to choose the 60-minute size")
    return min(rows, key=lambda r: r["bits_per_character"])["size"]


def markdown(results):
    lines = ["| size | minutes | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for r in results:
        cells = [fmt.format(r[key]) if isinstance(r.get(key), (int, float)) else "-"
                 for key, _, fmt in COLUMNS]
        lines.append(f"| {r['size']} | {r['minutes']:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for minutes in sorted({r["minutes"] for r in results}):
        rows = sorted((r for r in results if r["minutes"] == minutes), key=lambda r: r["params"])
        axes.plot([r["params"] for r in rows], [r["bits_per_character"] for r in rows],
                  marker="o", label=f"{minutes:g} min")
    axes.set_xscale("log")
    axes.set_xlabel("parameters")
    axes.set_ylabel("validation bits per character")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def recorded_rows(out):
    """The rows of <out>/code_sweep.json by (size, minutes); empty if there is none."""
    path = os.path.join(out, NAME + ".json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return {(r["size"], r["minutes"]): r for r in json.load(f)["results"]}


def write_report(results, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, NAME + ".json"), "w", encoding="utf-8") as f:
        json.dump({"results": results}, f, indent=2, sort_keys=True)
    with open(os.path.join(out, NAME + "_table.md"), "w", encoding="utf-8") as f:
        f.write(markdown(results))
    plot(results, os.path.join(out, NAME + ".png"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.join(ROOT, "runs", NAME))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "results"))
    parser.add_argument("--only", default="", help="size,minutes;... (default: all)")
    parser.add_argument("--report_only", action="store_true",
                        help="only rewrite the report from the finished runs under --root")
    args = parser.parse_args(argv)
    sweep = sweep_module()
    if 0 in sweep.TOKENS_PER_SECOND.values():
        raise SystemExit("code_sweep: configs/code_sweep.py:TOKENS_PER_SECOND is not measured")
    grid = list(sweep.GRID)
    if args.only:
        grid = [(s, float(m)) for s, m in (p.split(",") for p in args.only.split(";"))]
    rows = recorded_rows(args.out)  # every recorded row stays in the report
    sizes = list(sweep.SIZES)
    tokenizer = os.path.join(args.out, NAME + "_tokenizer")

    def add(size, minutes):
        workdir = os.path.join(args.root, f"{size}_{minutes:g}")
        if (size, minutes) not in rows and (not args.report_only or os.path.exists(
                os.path.join(workdir, "eval", "metrics.json"))):
            rows[size, minutes] = run(size, minutes, args.root, tokenizer)
        write_report(sorted(rows.values(), key=lambda r: (r["minutes"], sizes.index(r["size"]))),
                     args.out)

    for size, minutes in grid:
        add(size, minutes)
    if not args.only and not args.report_only:
        add(best_size(rows.values(), 30), 60)


if __name__ == "__main__":
    main()
