"""Capability measures of a language model, shared by tfllm-evaluate's modes "lm" and "phf".

- `split_metrics`: loss, perplexity, accuracy, bits per byte and bits per character
  (Unicode code points) of an LM split; control-token labels are not counted.
- On a Python code corpus (`is_code_corpus`), `prompt_groups` and `sample_groups` sample
  `unconditional` texts (from `<eos>`) and `prompted` ones (held-out test-split functions'
  signatures and docstrings, `heldout_prompts`, continued), and `python_metrics` measures
  each group (`code_metrics.code_statistics`): parse_share, tokenizing_line_share,
  empty_samples, empty_share, no_e9_share, bad_line_share and lines/<code>.

`evaluate(config, model, tokenizer)` is mode "lm": `split_metrics` of
config.evaluation.split and, on a code corpus, `<group>/<measure>` of the samples (which
it returns beside the metrics, for tfllm-evaluate to write).
"""

import ast
import textwrap

from tfllm import experiment
from tfllm.evaluation import code_metrics
from tfllm.evaluation.lm_metrics import evaluate_lm
from tfllm.generation import preference

# config.evaluation fields a config may leave out (seconds on a test model):
# unconditional samples, held-out prompts (0: no such group) and the sampler.
# max_new_tokens defaults to min(64, half the model's context), max_prompt_tokens to
# the rest of the context.
DEFAULTS = dict(num_samples=8, num_prompts=8, temperature=0.7, top_p=0.9, seed=0)
DEFAULT_MAX_NEW_TOKENS = 64


def split_metrics(config, model, tokenizer, split):
    """`evaluate_lm` of `split` as the model trains on it
    (`experiment.lm_evaluation_dataset`), config.evaluation.batches batches (0: all), with
    bits per byte and per character; labels that are control tokens are not counted."""
    dataset = experiment.lm_evaluation_dataset(config, tokenizer, split)
    return evaluate_lm(model, dataset, config.evaluation.get("batches", 0),
                       tokenizer.token_byte_lengths(), tokenizer.token_character_lengths(),
                       ignored_label_ids=preference.control_token_ids(tokenizer))


def is_code_corpus(config):
    """Whether config.data is an embedded Python code corpus (not config.data.files)."""
    from tfllm.data import corpora

    return not config.data.get("files") and config.data.get("corpus") in corpora.PYTHON_CODE


def python_metrics(texts, prompts=None, top_codes=5):
    """`code_metrics.code_statistics(texts, prompts)` as flat metrics: parse_share,
    tokenizing_line_share, empty_samples, empty_share, no_e9_share, bad_line_share and
    lines/<code> for the `top_codes` most frequent codes."""
    stats = code_metrics.code_statistics(texts, prompts)
    out = {key: stats[key] for key in ("parse_share", "tokenizing_line_share", "empty_samples",
                                       "empty_share", "no_e9_share", "bad_line_share")}
    for code, share in list(stats["line_share"].items())[:top_codes]:
        out[f"lines/{code}"] = share
    return out


def function_prompt(node, lines):
    """A function's signature and docstring (dedented source lines), or None without one."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    if not node.body or ast.get_docstring(node) is None:
        return None
    end = node.body[0].end_lineno
    return textwrap.dedent("".join(lines[node.lineno - 1:end]))


def heldout_prompts(config, tokenizer, num_prompts, max_tokens, control=None,
                    each_line=False):
    """Signatures and docstrings of functions of test-split files whose prompt (as
    `preference.prompt_token_ids(tokenizer, ..., control, each_line)` builds it) has at
    most `max_tokens` tokens: the first fitting function of every file, then the
    second, ..., until `num_prompts` (fewer if the split runs out)."""
    from tfllm.data import corpora

    per_file = []
    for document in corpora.load_from_config(config.data, "test"):
        try:
            tree = ast.parse(document.text)
        except (SyntaxError, ValueError):
            continue
        lines = document.text.splitlines(keepends=True)
        found = [function_prompt(node, lines) for node in ast.walk(tree)]
        per_file.append([p for p in found if p])
    prompts = []
    for rank in range(max(map(len, per_file), default=0)):
        candidates = [found[rank] for found in per_file if rank < len(found)]
        ids = preference.prompt_token_ids(tokenizer, candidates, control, each_line)
        for prompt, ids in zip(candidates, ids):
            if len(ids) <= max_tokens and len(prompts) < num_prompts:
                prompts.append(prompt)
    if not prompts:
        raise ValueError(f"config.data.corpus={config.data.corpus!r}: no test-split function "
                         f"has a signature and docstring of at most {max_tokens} tokens "
                         f"(config.evaluation.num_prompts=0 samples without prompts)")
    return prompts


def prompt_groups(config, tokenizer, max_sequence_length, control=None, each_line=False):
    """{"unconditional": ([""] * num_samples, max_new_tokens), "prompted": (held-out
    prompts, prompted_max_new_tokens)} from config.evaluation (`DEFAULTS` for fields it
    lacks); a group of 0 samples is left out."""
    e = config.evaluation
    max_new_tokens = e.get("max_new_tokens") or min(DEFAULT_MAX_NEW_TOKENS,
                                                    max_sequence_length // 2)
    groups = {}
    num_samples = e.get("num_samples", DEFAULTS["num_samples"])
    if num_samples:
        groups["unconditional"] = ([""] * num_samples, max_new_tokens)
    num_prompts = e.get("num_prompts", DEFAULTS["num_prompts"])
    if num_prompts:
        prompted_max_new_tokens = e.get("prompted_max_new_tokens") or max_new_tokens
        max_prompt_tokens = (e.get("max_prompt_tokens")
                             or max_sequence_length - prompted_max_new_tokens)
        groups["prompted"] = (heldout_prompts(config, tokenizer, num_prompts,
                                              max_prompt_tokens, control, each_line),
                              prompted_max_new_tokens)
    return groups


def sample_groups(model, tokenizer, groups, **options):
    """{group: prompt + continuation texts} for `prompt_groups`' groups
    (`preference.sample` with `options`)."""
    return {name: [prompt + text for prompt, text in zip(prompts, preference.sample(
                model, tokenizer, prompts, max_new_tokens, **options))]
            for name, (prompts, max_new_tokens) in groups.items()}


def evaluate(config, model, tokenizer):
    """(metrics, samples) of tfllm-evaluate's mode "lm": `split_metrics` of
    config.evaluation.split and, on a Python code corpus, `python_metrics` of each sample
    group as `<group>/<measure>` (top-p sampling at config.evaluation.temperature, top_p
    and seed); samples: {group: prompt + continuation texts} ({} off a code corpus)."""
    e = config.evaluation
    metrics = split_metrics(config, model, tokenizer, e.get("split", "validation"))
    if not is_code_corpus(config):
        return metrics, {}
    groups = prompt_groups(config, tokenizer, model.max_sequence_length)
    settings = {key: e.get(key, DEFAULTS[key]) for key in ("temperature", "top_p", "seed")}
    texts = sample_groups(model, tokenizer, groups, sampler="top_p",
                          temperature=settings["temperature"], p=settings["top_p"],
                          seed=settings["seed"])
    for name, (prompts, _) in groups.items():
        for key, value in python_metrics(texts[name], prompts).items():
            metrics[f"{name}/{key}"] = value
    return metrics, texts
