"""A tiny decoder LM on the Python standard library: for tests (seconds on a CPU)."""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    config.init_from = ""  # a workdir to continue pretraining from (tokenizer, weights)
    config.model = dict(kind="decoder_lm", preset="tiny", max_sequence_length=32)
    config.data = dict(corpus="python_stdlib_code", files="", sequence_length=32,
                       shuffle_seed=0, max_files=60, tfds=defaults.tfds())
    config.tokenizer = dict(kind="byte", vocabulary_size=512, control_tokens=(), options={})
    config.objective = dict(name="mle", options={})
    config.optimizer = defaults.optimizer()
    config.schedule = defaults.schedule(peak_learning_rate=3e-3, warmup_steps=2)
    config.training = defaults.training(
        steps=6, batch_size=4, log_every=1, eval_steps=2, checkpoint_every_steps=3,
        keep_checkpoints=3, sample_prompt="def ", progress=True)
    # tfllm-evaluate: the split's loss and bits per byte / character, and how much of
    # num_samples unconditional samples parses (32 tokens hold no held-out function's
    # signature and docstring, so no prompted ones: num_prompts=0).
    config.evaluation = dict(mode="lm", split="validation", batches=2, num_samples=2,
                             num_prompts=0, max_new_tokens=16)
    config.lora = defaults.lora()
    return config
