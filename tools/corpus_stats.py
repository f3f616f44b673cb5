#!/usr/bin/env python3
"""Statistics of a PEP8-scored code corpus, per package, as the markdown tables of docs/data.md.

    .venv/bin/python tools/corpus_stats.py [--corpus=python_installed_code]
        [--max_bytes=0 --max_package_bytes=0] [--tokenizer=runs/phf_pep8/tokenizer]
        [--top=30]

For every package (the stdlib, or a top-level site-packages entry) of all three splits:
files, characters, tokens (with --tokenizer), pycodestyle violations per character,
the share of lines with at least one violation, and the codes on most lines (share of
lines). Reads the corpus' PEP8 cache (builds what is missing).
"""

import argparse
import collections

from tfllm.data import corpora


def package_rows(keys, codes, texts, tokenizer=None):
    """{package: dict(files, characters, tokens, violations, lines, bad_lines, code_lines)}."""
    rows = collections.defaultdict(lambda: collections.defaultdict(int))
    for key in keys:
        if not texts.get(key, "").strip():  # not UTF-8, or empty: not in the corpus
            continue
        row = rows[corpora.package_of(key)]
        row["files"] += 1
        row["characters"] += len(texts[key])
        row["lines"] += len(codes[key])
        row["violations"] += sum(map(len, codes[key]))
        row["bad_lines"] += sum(1 for line in codes[key] if line)
        for code in {c for line in codes[key] for c in line}:
            row[f"code:{code}"] += sum(1 for line in codes[key] if code in line)
        if tokenizer is not None:
            row["tokens"] += len(tokenizer.encode(texts[key]))
    return rows


def _total(rows):
    total = collections.defaultdict(int)
    for row in rows.values():
        for k, v in row.items():
            total[k] += v
    return total


def _format(name, row, top_codes, with_tokens):
    codes = sorted(((v, k[5:]) for k, v in row.items() if k.startswith("code:")), reverse=True)
    lines = max(row["lines"], 1)
    code_text = ", ".join(f"{c} {100 * v / lines:.1f}%" for v, c in codes[:top_codes])
    cells = [name, f"{row['files']:,}", f"{row['characters']:,}"]
    if with_tokens:
        cells.append(f"{row['tokens']:,}")
    cells += [f"{row['violations'] / max(row['characters'], 1):.4f}",
              f"{100 * row['bad_lines'] / lines:.1f}%", code_text]
    return "| " + " | ".join(cells) + " |"


def markdown(rows, top, top_codes=3, with_tokens=False):
    header = ["package", "files", "characters"] + (["tokens"] if with_tokens else []) + [
        "violations/char", "bad lines", f"top {top_codes} codes (share of lines)"]
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + ["---"]) + "|"]
    ordered = sorted(rows.items(), key=lambda item: -item[1]["characters"])
    for name, row in ordered[:top]:
        out.append(_format(name, row, top_codes, with_tokens))
    rest = dict(ordered[top:])
    if rest:
        out.append(_format(f"{len(rest)} other packages", _total(rest), top_codes,
                           with_tokens))
    out.append(_format("**all**", _total(rows), 5, with_tokens))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="python_installed_code",
                        choices=["python_installed_code", "python_stdlib_code"])
    parser.add_argument("--max_bytes", type=int, default=0)
    parser.add_argument("--max_package_bytes", type=int, default=0)
    parser.add_argument("--tokenizer", default="", help="a saved tfllm tokenizer folder")
    parser.add_argument("--top", type=int, default=30, help="packages shown one per row")
    args = parser.parse_args()
    if args.corpus == "python_installed_code":
        keys = corpora.capped(corpora.installed_files(), args.max_bytes,
                              args.max_package_bytes)
    else:
        keys = corpora.stdlib_files()
    codes, texts = corpora.pep8_line_codes(keys)
    tokenizer = None
    if args.tokenizer:
        from tfllm.tokenizers import Tokenizer

        tokenizer = Tokenizer.load(args.tokenizer)
    rows = package_rows(keys, codes, texts, tokenizer)
    for split in corpora.SPLITS:
        in_split = [k for k in texts if corpora.split_of(k) == split and texts[k].strip()]
        chars = sum(len(texts[k]) for k in in_split)
        print(f"- {split}: {len(in_split):,} files, {chars:,} characters")
    print()
    print(markdown(rows, args.top, with_tokens=tokenizer is not None))


if __name__ == "__main__":
    main()
