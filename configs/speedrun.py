"""Speedrun recipes: what `tools/bench.py --task=speedrun` trains (time to a target loss).

    python tools/bench.py --task=speedrun --data=DIR --target_bpb=X [--recipe=tfllm]

`nanogpt` is the recipe of the PyTorch baseline (a nanoGPT-style byte-level GPT, the peer
of the benchmark) in tfllm, for a like-for-like step. Every other recipe is the one it
builds on plus one change, in the order they were measured (docs/performance.md,
"Speedrun", has each one's time); `tfllm` is the fastest, and the configs that train
language models from scratch take its settings (DecoderLM's "speedrun" preset is its shape).
"""

import ml_collections


def nanogpt():
    config = ml_collections.ConfigDict()
    config.model = dict(num_layers=4, num_heads=4, hidden_dim=256, intermediate_dim=1024,
                        max_sequence_length=256, activation="gelu", position="learned",
                        norm="layer_norm", tie_embeddings=True, scale_residual_init=True)
    config.tokenizer = dict(kind="byte", vocabulary_size=0, sample_bytes=0, options={})
    config.optimizer = dict(kind="adamw", weight_decay=0.1, beta_1=0.9, beta_2=0.99,
                            epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=1e-3, warmup_steps=100, decay="cosine",
                           decay_steps=800, final_fraction=0.1, cooldown_fraction=0.2)
    config.training = dict(batch_size=16, sequence_length=256, clip_norm=1.0,
                           precision="float32", max_steps=800, eval_every=50, seed=0)
    return config


WINDOWS_OF_128 = {"model.max_sequence_length": 128, "training.sequence_length": 128,
                  "training.batch_size": 8}

# (recipe, the recipe it builds on, its change as {"section.field": value}).
LADDER = (
    # sentencepiece BPE of 4096 pieces (~3.1 bytes a token); evaluation every 10 steps,
    # since the target now comes within a few hundred.
    ("bpe", "nanogpt", {"tokenizer.kind": "sentencepiece", "tokenizer.vocabulary_size": 4096,
                        "tokenizer.sample_bytes": 2_000_000,
                        "tokenizer.options": {"model_type": "bpe"},
                        "training.eval_every": 10}),
    ("bpe_fast_lr", "bpe", {"schedule.peak_learning_rate": 3e-3, "schedule.warmup_steps": 20,
                            "schedule.decay_steps": 400, "training.max_steps": 400}),
    ("bpe_batch8", "bpe", {"training.batch_size": 8}),
    ("bpe_batch8_warmup30", "bpe_batch8", {"schedule.warmup_steps": 30}),
    ("bpe_batch4", "bpe_batch8", {"training.batch_size": 4}),
    ("bpe_batch4_warmup30", "bpe_batch4", {"schedule.warmup_steps": 30}),
    ("seq128", "bpe_batch4_warmup30", WINDOWS_OF_128),
    ("two_layers", "bpe_batch4_warmup30", {"model.num_layers": 2}),
    ("two_layers_seq128", "two_layers", WINDOWS_OF_128),
    ("lr2e3", "two_layers_seq128", {"schedule.peak_learning_rate": 2e-3}),
    ("width128", "two_layers_seq128", {"model.hidden_dim": 128, "model.intermediate_dim": 512}),
    # The demanding target (docs/results/speedrun_5x.md): the `bpe` shape (4 x 256) with
    # float32 weights and bfloat16 products (oneDNN), evaluated every 100 steps.
    ("bpe_bf16", "bpe", {"training.precision": "mixed_bfloat16", "training.eval_every": 100}),
    # The search at the demanding target: each a 177.6 s budget (docs/results/speedrun_5x.md).
    ("muon", "bpe_bf16", {"optimizer.kind": "muon"}),
    ("bf16_batch8", "bpe_bf16", {"training.batch_size": 8}),
    ("bf16_batch8_lr2e3", "bf16_batch8", {"schedule.peak_learning_rate": 2e-3}),
    ("bf16_batch8_lr3e3", "bf16_batch8_lr2e3", {"schedule.peak_learning_rate": 3e-3}),
    # The recipe configs/lm_small.py had before the speedrun, for comparison.
    ("lm_small_before", "width128", {"tokenizer.vocabulary_size": 2048,
                                     "schedule.peak_learning_rate": 2e-3,
                                     "optimizer.weight_decay": 0.01,
                                     "training.batch_size": 16}),
    ("tfllm", "width128", {}),
)
RECIPES = ("nanogpt",) + tuple(name for name, _, _ in LADDER)


def get_config(recipe="tfllm"):
    if recipe == "nanogpt":
        return nanogpt()
    steps = {name: (base, change) for name, base, change in LADDER}
    if recipe not in steps:
        raise ValueError(f"configs/speedrun.py: unknown recipe {recipe!r}; expected one of "
                         f"{sorted(RECIPES)}")
    base, change = steps[recipe]
    config = get_config(base)
    for key, value in change.items():
        section, field = key.split(".")
        config[section][field] = value
    return config
