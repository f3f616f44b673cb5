"""Defaults the experiment configs (configs/) share: the `training`, `optimizer` and `schedule`
sections of the trainer binaries (tfllm-pretrain, tfllm-finetune, tfllm-train-reward), and
the `lora` section of the binaries that fine-tune a trained model (tfllm-pretrain and
tfllm-finetune from an init workdir, tfllm-rl-finetune), and `data.tfds`.

A config states only what differs from them:

    config.training = defaults.training(steps=600, batch_size=4, sample_scorer="pep8")

Each function returns a new dict holding every field: the defaults below, with the named
ones replaced under ml_collections' rules (an unknown name is an error, an int given for
a float field becomes a float). A config imports them with `from tfllm.bin import
defaults` (big_vision keeps its shared config defaults inside its package too).
"""

import ml_collections

TRAINING = dict(
    steps=300, batch_size=32, accumulation_steps=1, clip_norm=1.0, precision="float32",
    jit_compile="auto", nan_policy="stop", seed=0, deterministic=False,
    log_every=50, eval_every=0, eval_steps=0,
    checkpoint_every_steps=250, checkpoint_every_minutes=0.0, keep_checkpoints=2,
    early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
    sample_every=0, num_samples=2, sample_length=16, sample_prompt="",
    sample_top_k=40, sample_temperature=1.0, sample_scorer="",
    histogram_every=0, profile_first=0, profile_last=0, progress=False, tpu="")
OPTIMIZER = dict(kind="adamw", weight_decay=0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-8)
SCHEDULE = dict(peak_learning_rate=1e-3, warmup_steps=30, decay="cosine", decay_steps=0,
                final_fraction=0.1, cooldown_fraction=0.2)
# rank 0: LoRA off (every weight trains); alpha 0: the rank (updates scaled by 1); target:
# comma-separated names of tfllm.models.lora ("query_key_value", "attention",
# "feed_forward", "output", a layer path's end, ...).
LORA = dict(rank=0, alpha=0.0, target="query_key_value")
# data.tfds: a TensorFlow Datasets text field as the corpus (name "": not used); splits
# maps tfllm's train / validation / test to TFDS split names.
TFDS = dict(name="", text_key="text", data_dir="",
            splits=dict(train="train", validation="test", test="test"))


def _override(defaults, overrides):
    section = ml_collections.ConfigDict(defaults)
    section.lock()
    section.update(overrides)
    return {key: section[key] for key in defaults}


def training(**overrides):
    """The training section: TRAINING with `overrides`."""
    return _override(TRAINING, overrides)


def optimizer(**overrides):
    """The optimizer section (kind "adamw" or "muon"): OPTIMIZER with `overrides`."""
    return _override(OPTIMIZER, overrides)


def schedule(**overrides):
    """The learning-rate schedule section: SCHEDULE with `overrides`."""
    return _override(SCHEDULE, overrides)


def lora(**overrides):
    """The LoRA section (docs/finetuning.md): LORA with `overrides`."""
    return _override(LORA, overrides)


def tfds(**overrides):
    """The data.tfds section (TensorFlow Datasets as the corpus): TFDS with `overrides`."""
    return _override(TFDS, overrides)
