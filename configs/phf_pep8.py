"""Pretraining with human preferences on Python code, PEP8 as the preference (Korbak et al. 2023).

    tfllm-pretrain --config=configs/phf_pep8.py:conditional --workdir=runs/phf_pep8
    tfllm-evaluate --config=configs/phf_pep8.py:conditional --workdir=runs/phf_pep8

The part after ":" picks the objective: mle | filtering | conditional (the default) |
unlikelihood | rwr | awr; ",<corpus>" after it trains on another corpus
(configs/phf_pep8.py:mle,python_stdlib_code). --config.init_from=<workdir> continues
pretraining from that run's tokenizer and weights (MLE, then conditional). It sets the objective's options and its data-side transform
together (filtering drops documents, conditional inserts control tokens), so switch
objectives there, not with --config.objective.name alone. Every field stays overridable
(--config.training.steps=200). All six share one sentencepiece tokenizer (with <|good|>/<|bad|>),
model and token budget, so their rows in docs/results/phf_pep8.md are comparable.

The corpus is python_installed_code (tfllm.data.corpora): the stdlib plus the installed
packages' hand-written .py files, many styles (Google's 2-space indentation in
TensorFlow, long lines, PEP8-clean Keras), capped at 32 MB in a stable random sample of
files so that `make train` scores, tokenizes and trains within its time budget.

Settings from the paper's own configs (tomekkorbak/pretraining-with-human-feedback,
configs/pep8/*.yml and apo/*.py; Korbak et al. 2023). Our line scores are theirs
(pycodestyle violations / characters of the line; document score for samples: total
violations / characters), so every value carries over unchanged:
- conditional (conditional.yml): threshold 0 (a line with any violation gets <|bad|>,
  their <|misaligned|>), a control token before every line, drop_token_fraction 0.1.
- filtering (filtering.yml): keep a document if the unweighted mean of its line scores
  (their `avg_score`) is <= 0.002361.
- unlikelihood (ul.yml): threshold 0, alpha 0.01. Their code tests `if score_threshold:`,
  so with 0 it falls back to soft weights (1 - score); we apply the threshold as stated.
- rwr (rwr.yml): their AWR objective with alpha 1 and beta 10 (the value head, untrained
  at alpha 1, stays at -0.5: a constant factor); ours: weights exp(-score / 10), clip
  1000 (their clip_weight_max). With scores of 0.01-0.1 the weights are 0.99-1.0.
- awr (awr.yml): alpha 0.05 (LM term; the value term gets 0.95), beta 1, clip 1000.
- samples (pretrain.yml): after <eos> and <|good|> (their <|aligned|>) with <|bad|>
  banned, temperature 0.7, top-p 0.9; each scored as its violations / its characters.
  Their samples run to 640 tokens in a 1024-token context; ours to 254 in 256.
The optimizer, schedule, batch and model are our speedrun recipe (configs/speedrun.py),
not their 124M-parameter GPT-2 at 3.3B tokens.
"""

import ml_collections

from tfllm.bin import defaults
from ml_collections import config_dict


OBJECTIVES = ("mle", "filtering", "conditional", "unlikelihood", "rwr", "awr")
CONTROL_TOKENS = ("<|good|>", "<|bad|>")


def get_config(spec="conditional"):
    objective, _, corpus = spec.partition(",")
    if objective not in OBJECTIVES:
        raise ValueError(f"configs/phf_pep8.py: unknown objective {objective!r}; expected "
                         f"one of {OBJECTIVES}")
    config = ml_collections.ConfigDict()
    config.init_from = ""  # a workdir to continue from (its tokenizer and weights)
    # The speedrun's recipe (configs/speedrun.py:tfllm): its model, tokenizer, optimizer and
    # schedule, in rows of 256 tokens (4 per batch, the speedrun's 1024 tokens a step), so
    # that learned positions cover the samples' length.
    config.model = dict(kind="decoder_lm", preset="speedrun", max_sequence_length=256,
                        value_head=objective == "awr")
    config.data = dict(
        corpus="python_installed_code", corpus_options={"max_bytes": 32_000_000},
        files="", sequence_length=256, shuffle_seed=0, max_files=0,
        # filtering: drop training documents scoring over a threshold or a percentile,
        # by the unweighted mean of their line scores ("segment_mean") or "per_char".
        filter_threshold=config_dict.placeholder(float),
        filter_percentile=config_dict.placeholder(float), filter_score="segment_mean",
        # conditional: <|good|>/<|bad|> at each line (segment) start by score.
        control_tokens=False, control_threshold=0.0, drop_token_probability=0.1)
    # sentencepiece (BPE, 4096 pieces, byte fallback, exact round trip): runs of
    # indentation become single tokens, and a 256-token row holds ~800 characters.
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=4096,
                            control_tokens=CONTROL_TOKENS, options={"model_type": "bpe"})
    config.objective = dict(name=objective, options={})
    config.optimizer = defaults.optimizer(weight_decay=0.1)
    config.schedule = defaults.schedule()
    config.training = defaults.training(
        steps=2000, batch_size=4, eval_steps=16, sample_length=96, sample_temperature=0.7,
        sample_scorer="pep8", progress=True)
    # The end of tfllm-pretrain: num_samples samples under each of <|good|> and <|bad|>,
    # a table of their PEP8 statistics and two samples of each
    # (tfllm.generation.preference.control_token_report). control_each_line: the control
    # token also follows every line break while sampling, as it starts every line in
    # training (tfllm.generation.preference.sample_token_ids).
    config.sampling = dict(show_control_tokens=objective == "conditional", scorer="pep8",
                           num_samples=16, max_new_tokens=254, temperature=0.7, top_p=0.9,
                           seed=0, control_each_line=True, complete_lines=True)
    config.evaluation = dict(
        mode="phf", scorer="pep8", num_samples=64, max_new_tokens=254, temperature=0.7,
        top_p=0.9, seed=0, control="<|good|>" if objective == "conditional" else "",
        control_each_line=objective == "conditional",
        # prompted samples: a held-out function's signature and docstring, continued.
        num_prompts=64, max_prompt_tokens=120, prompted_max_new_tokens=128,
        batches=16, complete_lines=True, leakage_span=50, reference_workdir="")
    if corpus:  # the size caps above are python_installed_code's options
        config.data.corpus, config.data.corpus_options = corpus, {}
    if objective == "filtering":
        config.data.filter_threshold = 0.002361
    elif objective == "conditional":
        config.data.control_tokens = True
    elif objective == "unlikelihood":
        config.objective.options = dict(threshold=0.0, alpha=0.01)
    elif objective == "rwr":
        config.objective.options = dict(beta=10.0, max_weight=1000.0)
    elif objective == "awr":
        config.objective.options = dict(alpha=0.05, beta=1.0, max_weight=1000.0)
    config.lora = defaults.lora()
    return config
