"""A small decoder LM on the Python standard library (minutes on 2 CPU cores).

    tfllm-pretrain --config=configs/lm_small.py --workdir=runs/lm_small

Model, tokenizer, optimizer, schedule and batch are the speedrun's recipe
(configs/speedrun.py:tfllm, docs/performance.md "Speedrun").
"""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", preset="speedrun")
    config.data = dict(corpus="python_stdlib_code", files="", sequence_length=128,
                       shuffle_seed=0, max_files=120, tfds=defaults.tfds())
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=4096, control_tokens=(),
                            options={"model_type": "bpe"})
    config.objective = dict(name="mle", options={})
    config.optimizer = defaults.optimizer(weight_decay=0.1)
    config.schedule = defaults.schedule()
    config.training = defaults.training(
        steps=380, batch_size=8, log_every=10, eval_every=100, eval_steps=8,
        checkpoint_every_steps=100, checkpoint_every_minutes=5.0, keep_checkpoints=3,
        sample_every=100, num_samples=3, sample_length=96, sample_prompt="def ",
        sample_temperature=0.8, progress=True)
    # tfllm-evaluate: the split's loss and bits per byte / character, and the share of
    # num_samples unconditional samples and of num_prompts held-out functions'
    # continuations that parse (tfllm.evaluation.capability).
    config.evaluation = dict(mode="lm", split="validation", batches=8, num_samples=16,
                             num_prompts=16, max_new_tokens=64)
    config.lora = defaults.lora()
    return config
