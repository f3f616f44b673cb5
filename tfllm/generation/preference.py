"""Preference-adjusted generation: control-token conditioning, best-of-n, token penalties.

Works on any scorer of tfllm.feedback (misalignment, lower is better):

- `sample_and_score`: samples continuations of prompts, optionally conditioned on a
  control token (`<|good|>` put after the document separator, both control tokens banned from the
  output, as in Korbak et al. 2023), and scores each continuation.
- `best_of_n` / `rerank`: n samples per prompt, ranked by the scorer's score.
- `token_penalty_bias`: a per-token logit bias for scores that decompose over tokens.
- `control_token_samples` / `control_token_report`: samples under `<|good|>` and
  `<|bad|>` with their scores,
  as text for a terminal (the end of `make train`).
"""

import dataclasses

import numpy as np

from tfllm.generation.generate import generate

CONTROL_TOKENS = ("<|good|>", "<|bad|>")


@dataclasses.dataclass(frozen=True)
class ScoredSample:
    """A continuation of `prompt` (decoded text, special tokens dropped) and its score."""

    prompt: str
    text: str
    score: float


def control_token_ids(tokenizer):
    """Ids of the tokenizer's `<|good|>` / `<|bad|>` tokens that it has (may be empty)."""
    known = tokenizer.control_token_ids
    return [known[token] for token in CONTROL_TOKENS if token in known]


def prompt_token_ids(tokenizer, prompts, control=None, each_line=False):
    """Token lists `<eos> [control] encode(prompt)` for each prompt text.

    The LM pipeline (tfllm.data.lm) ends every document with `<eos>` and starts the
    next one right after it (with its first control token for conditional training),
    so a new document is prompted the same way.

    Args:
        tokenizer: a tfllm Tokenizer.
        prompts: list of str ("" for unconditional samples).
        control: None, or a control token such as "<|good|>" (ValueError if the
            tokenizer lacks it).
        each_line: put `control` before every line of the prompt, each line encoded
            on its own (as conditional training's data is), not only at the start.
    """
    prefix = [tokenizer.eos_id]
    if control is None:
        return [prefix + ids for ids in tokenizer.encode(list(prompts))]
    if control not in tokenizer.control_token_ids:
        raise ValueError(f"control token {control!r} is not in the tokenizer's control "
                         f"tokens {list(tokenizer.control_tokens)}")
    control_id = tokenizer.control_token_ids[control]
    if not each_line:
        return [prefix + [control_id] + ids for ids in tokenizer.encode(list(prompts))]
    out = []
    for prompt in prompts:
        lines = prompt.splitlines(keepends=True)
        ids = [control_id]
        for i, line_ids in enumerate(tokenizer.encode(lines)):
            ids += line_ids + ([control_id] if i + 1 < len(lines) else [])
        out.append(prefix + ids)
    return out


def line_end_token_ids(tokenizer):
    """Ids of the tokens whose text ends with a line break (segment ends for PEP8 lines)."""
    size = tokenizer.vocabulary_size
    texts = tokenizer.decode([[i] for i in range(size)])
    return [i for i, text in enumerate(texts) if text.endswith("\n")]


def sample_token_ids(model, tokenizer, prompts, max_new_tokens, control=None,
                     ban_control_tokens=True, sampler="top_p", logit_bias=None,
                     control_each_line=False, **sampler_options):
    """(prompt token lists, continuation token lists) for `prompts` (list of str).

    The prompt is `<eos> [control] prompt`; generation stops at `<eos>`; with
    `ban_control_tokens` no control token of CONTROL_TOKENS is ever emitted.
    `control_each_line`: `control` also follows every line break, in the prompt's
    last token and in the output (as conditional training's data has it at each line
    start; decoded text drops it). Without it, a model trained so sees a line break
    followed by a banned control token and its remaining mass often goes to `<eos>`.
    `logit_bias` (e.g. from `token_penalty_bias`) is added to the logits at every
    step. `sampler_options` go to `tfllm.generation.generate` (temperature, p, k,
    seed...). `sample`, `sample_and_score`, `rerank`, `best_of_n` and
    `control_token_report` pass `logit_bias` through to here.
    """
    ids = prompt_token_ids(tokenizer, list(prompts), control, each_line=control_each_line)
    if control_each_line:
        if control is None:
            raise ValueError("control_each_line needs a control token (control=...)")
        sampler_options["segment_control"] = (line_end_token_ids(tokenizer),
                                              tokenizer.control_token_ids[control])
    banned = control_token_ids(tokenizer) if ban_control_tokens else []
    banned = sorted(set(banned) | set(sampler_options.pop("banned_token_ids", ())))
    stops = sampler_options.pop("stop_token_ids", (tokenizer.eos_id,))
    outputs = generate(model, ids, max_new_tokens, sampler=sampler, banned_token_ids=banned,
                       stop_token_ids=stops, pad_token_id=tokenizer.pad_id,
                       logit_bias=logit_bias, **sampler_options)
    return ids, [out[len(prompt):] for out, prompt in zip(outputs, ids)]


def sample(model, tokenizer, prompts, max_new_tokens, complete_lines=False, **options):
    """Continuation texts of `prompts`: `sample_token_ids` decoded (special tokens dropped).

    With `complete_lines`, each text is cut after its last line break, so a line cut
    short by `max_new_tokens` is not scored (for PEP8 it would always add W292, "no
    newline at end of file").
    """
    _, continuations = sample_token_ids(model, tokenizer, prompts, max_new_tokens, **options)
    texts = [tokenizer.decode(ids) for ids in continuations]
    return [t[:t.rfind("\n") + 1] for t in texts] if complete_lines else texts


def sample_and_score(model, tokenizer, scorer, prompts, max_new_tokens, **options):
    """`sample` then `scorer.score` of each continuation: a list of ScoredSample."""
    prompts = list(prompts)
    texts = sample(model, tokenizer, prompts, max_new_tokens, **options)
    return [ScoredSample(prompt, text, scored.document_score)
            for prompt, text, scored in zip(prompts, texts, scorer.score(texts))]


def rerank(model, tokenizer, scorer, prompts, n, max_new_tokens, **options):
    """n samples per prompt, each prompt's list sorted by score (lowest misalignment first).

    Returns a list (one per prompt) of n ScoredSample; ties keep sampling order.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"rerank: n must be an int >= 1, got {n!r}")
    prompts = list(prompts)
    flat = sample_and_score(model, tokenizer, scorer, [p for p in prompts for _ in range(n)],
                            max_new_tokens, **options)
    groups = [flat[i * n:(i + 1) * n] for i in range(len(prompts))]
    return [sorted(group, key=lambda s: s.score) for group in groups]


def best_of_n(model, tokenizer, scorer, prompts, n, max_new_tokens, **options):
    """The lowest-misalignment of n samples for each prompt (a list of ScoredSample)."""
    return [ranked[0] for ranked in rerank(model, tokenizer, scorer, prompts, n,
                                           max_new_tokens, **options)]


def token_penalty_bias(tokenizer, scorer, strength, template="{}"):
    """A (vocabulary_size,) float32 logit bias against tokens whose text alone is misaligned.

    For each ordinary token t (ids not in tokenizer.reserved_ids) with text s_t:

        bias[t] = -strength * max(0, score(template.format(s_t)) - score(template.format("")))

    where score is the scorer's document score. Reserved ids get 0. This is exact
    only for scores that add up over tokens independently of their context (e.g. a
    per-word blocklist); for context-dependent scorers such as PEP8 it is a
    heuristic whose `template` supplies a neutral context (e.g. "x = 1{}\\n" puts the
    token at the end of a clean line: trailing spaces, tabs and ";" get penalized).
    Add the result to the logits before sampling: pass it as `logit_bias` to
    `sample` / `sample_and_score` / `best_of_n` (or `tfllm.generation.generate`,
    `sample_tokens`).
    """
    if not strength >= 0.0:
        raise ValueError(f"token_penalty_bias: strength must be >= 0, got {strength!r}")
    if template.count("{}") != 1:
        raise ValueError(f"token_penalty_bias: template {template!r} must contain one '{{}}'")
    reserved = set(tokenizer.reserved_ids)
    ids = [i for i in range(tokenizer.vocabulary_size) if i not in reserved]
    texts = [template.format(tokenizer.decode([i])) for i in ids]
    scores = [s.document_score for s in scorer.score([template.format("")] + texts)]
    bias = np.zeros(tokenizer.vocabulary_size, np.float32)
    bias[ids] = -strength * np.maximum(0.0, np.asarray(scores[1:]) - scores[0])
    return bias


def control_token_samples(model, tokenizer, scorer, num_samples, max_new_tokens,
                          **sampler_options):
    """{control token: `num_samples` ScoredSample generated after it}, for each of
    CONTROL_TOKENS."""
    return {control: sample_and_score(model, tokenizer, scorer, [""] * num_samples,
                                      max_new_tokens, control=control, **sampler_options)
            for control in CONTROL_TOKENS}


def control_token_report(samples, score_name, show=None):
    """Text showing the first `show` (default: all) of each control token's samples in
    `control_token_samples`, each with its score."""
    lines = []
    for control, group in samples.items():
        for i, s in enumerate(group[:show]):
            lines.append(f"--- {control} sample {i + 1}: {score_name} score {s.score:.4f}")
            lines.append(s.text)
    return "\n".join(lines)
