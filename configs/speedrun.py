"""Speedrun recipes: what `tools/bench.py --task=speedrun` trains (time to a target loss).

    python tools/bench.py --task=speedrun --data=DIR --target_bpb=X [--recipe=tfllm]

`nanogpt` is the recipe of the PyTorch baseline (a nanoGPT-style byte-level GPT, the peer
of the benchmark) in tfllm, for a like-for-like step; `tfllm` is the fastest recipe
measured (docs/performance.md, "Speedrun"), and the defaults of the configs that train
language models from scratch follow it.
"""

import ml_collections


def nanogpt():
    config = ml_collections.ConfigDict()
    config.model = dict(num_layers=4, num_heads=4, hidden_dim=256, intermediate_dim=1024,
                        max_sequence_length=256, activation="gelu", position="learned",
                        norm="layer_norm", tie_embeddings=True, scale_residual_init=True)
    config.tokenizer = dict(kind="byte", vocabulary_size=0, sample_bytes=0, options={})
    config.optimizer = dict(weight_decay=0.1, beta_1=0.9, beta_2=0.99, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=1e-3, warmup_steps=100, decay="cosine",
                           decay_steps=800, final_fraction=0.1)
    config.training = dict(batch_size=16, sequence_length=256, clip_norm=1.0,
                           precision="float32", max_steps=800, eval_every=50, seed=0)
    return config


def bpe():
    """nanogpt with a 4096-piece sentencepiece BPE tokenizer (~3.1 bytes a token)."""
    config = nanogpt()
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=4096,
                            sample_bytes=2_000_000, options={"model_type": "bpe"})
    config.training.eval_every = 10  # finer: the target comes within a few hundred steps
    return config


def bpe_fast_lr():
    """bpe with a 3x higher peak rate (3e-3), 20 warmup steps and a 400-step cosine."""
    config = bpe()
    config.schedule.update(peak_learning_rate=3e-3, warmup_steps=20, decay_steps=400)
    config.training.max_steps = 400
    return config


def bpe_batch8():
    """bpe with batches of 8 windows (twice the updates for the same tokens)."""
    config = bpe()
    config.training.batch_size = 8
    return config


def bpe_batch4():
    """bpe_batch8 with batches of 4 windows."""
    config = bpe_batch8()
    config.training.batch_size = 4
    return config


def bpe_batch8_warmup30():
    """bpe_batch8 with 30 warmup steps instead of 100."""
    config = bpe_batch8()
    config.schedule.warmup_steps = 30
    return config


def bpe_batch4_warmup30():
    """bpe_batch4 with 30 warmup steps."""
    config = bpe_batch4()
    config.schedule.warmup_steps = 30
    return config


def two_layers():
    """bpe_batch4_warmup30 with 2 Transformer blocks instead of 4."""
    config = bpe_batch4_warmup30()
    config.model.num_layers = 2
    return config


def seq128():
    """bpe_batch4_warmup30 with windows of 128 tokens, 8 a batch (the same tokens a step)."""
    config = bpe_batch4_warmup30()
    config.model.max_sequence_length = 128
    config.training.update(sequence_length=128, batch_size=8)
    return config


def two_layers_seq128():
    """two_layers with windows of 128 tokens, 8 a batch."""
    config = two_layers()
    config.model.max_sequence_length = 128
    config.training.update(sequence_length=128, batch_size=8)
    return config


def width128():
    """two_layers_seq128 with hidden size 128 (feed-forward 512): the shape of DecoderLM's
    "speedrun" preset."""
    config = two_layers_seq128()
    config.model.update(hidden_dim=128, intermediate_dim=512)
    return config


def lr2e3():
    """two_layers_seq128 with peak learning rate 2e-3."""
    config = two_layers_seq128()
    config.schedule.peak_learning_rate = 2e-3
    return config


def lm_small_before():
    """The recipe configs/lm_small.py had before the speedrun, for comparison: width128
    with 2048 BPE pieces, peak rate 2e-3, weight decay 0.01 and batches of 16."""
    config = width128()
    config.tokenizer.vocabulary_size = 2048
    config.schedule.peak_learning_rate = 2e-3
    config.optimizer.weight_decay = 0.01
    config.training.batch_size = 16
    return config


def tfllm():
    """The fastest recipe measured: width128."""
    return width128()


RECIPES = {"nanogpt": nanogpt, "bpe": bpe, "bpe_fast_lr": bpe_fast_lr, "bpe_batch8": bpe_batch8,
           "bpe_batch4": bpe_batch4, "bpe_batch8_warmup30": bpe_batch8_warmup30,
           "bpe_batch4_warmup30": bpe_batch4_warmup30, "two_layers": two_layers,
           "seq128": seq128, "two_layers_seq128": two_layers_seq128,
           "width128": width128, "lr2e3": lr2e3, "lm_small_before": lm_small_before,
           "tfllm": tfllm}


def get_config(recipe="tfllm"):
    if recipe not in RECIPES:
        raise ValueError(f"configs/speedrun.py: unknown recipe {recipe!r}; expected one of "
                         f"{sorted(RECIPES)}")
    return RECIPES[recipe]()
