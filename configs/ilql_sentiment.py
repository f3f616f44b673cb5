"""ILQL toward positive sentiment: offline Q-learning on the docs corpus scored by VADER.

Implicit Language Q-Learning (Snell et al. 2022; tfllm/objectives/ilql.py) from the LM of
configs/rl_sentiment_lm.py, without sampling: the data are python_docs_text's own
sentences, each scored by the sentiment scorer (VADER; misalignment (1 - compound) / 2,
per sentence), every token rewarded 0.5 - its sentence's score (reward_offset 0.5, the
scorer's threshold: neutral sentences, ~65% of them, give 0; positive ones up to +0.5,
negative ones down to -0.5 per token). Generation then perturbs the LM with
beta * (min Qhat - V) (tfllm.models.ILQLModel; `tfllm-generate` on the workdir decodes so).

    tfllm-pretrain --config=configs/rl_sentiment_lm.py --workdir=runs/rl_sentiment_lm
    tfllm-finetune --config=configs/ilql_sentiment.py --workdir=runs/ilql_sentiment \\
        --init_workdir=runs/rl_sentiment_lm

Settings: trlx's ILQL defaults (default_ilql_config: tau 0.7, gamma 0.99, cql_scale 0.1,
awac_scale 1 (our lm_scale), alpha 0.001 every 5 steps; decoding beta 4, its value in
trlx's earlier default_ilql_config, 1 in later ones). The optimizer and batch are the LM's
(configs/rl_sentiment_lm.py) with the peak rate a tenth of its, for fine-tuning.

Data budget: the train split is 362 documents, 581k bytes (= tokens, byte tokenizer) and
5.8k sentences; a step is 32 x 128 = 4096 tokens, so 600 steps are 2.46M tokens, about
4.2 epochs (the LM itself had 1500 steps, 6.1M tokens, ~10.6 epochs). Validation: 21
documents, 71k bytes (eval_steps 10 batches = 41k tokens). Speed: 13k tokens/s (0.31 s a
step) in a 30-step smoke run from an untrained speedrun-shaped LM on the shared 2-core
CPU, so 600 steps take ~3-4 minutes plus loading (~10 s) and evaluations. Only that smoke
run was made: no measured sentiment result stands behind these settings yet.
"""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    config.init_from = ""  # or --init_workdir: the LM workdir (configs/rl_sentiment_lm.py)
    # kind "ilql": ILQL heads on the --init_workdir LM; beta: the decoding advantage weight.
    config.model = dict(kind="ilql", beta=4.0)
    config.data = dict(kind="corpus", corpus="python_docs_text", files="", max_files=0,
                       scorer="sentiment", scorer_options={"prefer": "positive"},
                       sequence_length=128, shuffle_seed=0)
    # The LM's tokenizer (copied from --init_workdir; these fields only describe it).
    config.tokenizer = dict(kind="byte", vocabulary_size=512, control_tokens=(), options={})
    config.objective = dict(name="ilql", options=dict(
        gamma=0.99, tau=0.7, cql_scale=0.1, lm_scale=1.0, alpha=0.001, target_sync_every=5,
        reward_offset=0.5))
    config.optimizer = defaults.optimizer()
    config.schedule = defaults.schedule(peak_learning_rate=2e-4, warmup_steps=50)
    config.training = defaults.training(
        steps=600, eval_every=200, eval_steps=10, checkpoint_every_steps=200,
        sample_every=200, num_samples=4, sample_length=48, sample_prompt="The ",
        sample_scorer="sentiment")
    return config
