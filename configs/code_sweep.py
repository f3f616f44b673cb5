"""The IsoFLOP-style sweep on python_installed_code: which model shape learns Python best
in a fixed number of minutes on 2 CPU cores (docs/results/code_sweep.md).

    tfllm-pretrain --config=configs/code_sweep.py:M,15 --workdir=runs/code_sweep/M_15
    tfllm-evaluate --config=configs/code_sweep.py:M,15 --workdir=runs/code_sweep/M_15
    .venv/bin/python tools/code_sweep.py   # every run of GRID in order, then the report

The spec is "<size>,<minutes>": a shape of SIZES trained for `minutes` of training at its
measured rate (TOKENS_PER_SECOND: tools/bench.py --task=train on a quiet box with the
shape, batch and precision below), so a budget is a number of steps and an interrupted
run resumes to the same end. Every run has the same data, tokenizer (4096 BPE pieces with
the PHF control tokens reserved, so that the models can be finetuned with conditional
training), optimizer and schedule: the speedrun's best recipe at the 5x target
(configs/speedrun.py:bf16_batch8_lr2e3: AdamW at a peak rate of 2e-3, bfloat16 products)
in batches of 16 x 256 tokens (more tokens a second than 8; budgets of minutes to an hour
take larger batches than three minutes do), cosine decay over each run's own steps.
"""

import ml_collections

from tfllm.bin import defaults

# Shapes: width / 64 heads, feed-forward 4x, learned positions, tied embeddings.
SIZES = {
    "S": dict(num_layers=3, num_heads=3, hidden_dim=192, intermediate_dim=768),
    "M": dict(num_layers=4, num_heads=4, hidden_dim=256, intermediate_dim=1024),
    "L": dict(num_layers=6, num_heads=5, hidden_dim=320, intermediate_dim=1280),
}
# Training tokens a second of each shape (batch 16 x 256, mixed_bfloat16), measured
# before the sweep (docs/results/code_sweep.md has the command).
TOKENS_PER_SECOND = {"S": 16103, "M": 9772, "L": 5544}
BATCH_SIZE, SEQUENCE_LENGTH = 16, 256
# (size, minutes) in the order tools/code_sweep.py trains them; the 60-minute run's size
# is the best of the 30-minute budget, set before it starts.
GRID = tuple((size, minutes) for minutes in (7.5, 15, 30) for size in SIZES)
CONTROL_TOKENS = ("<|good|>", "<|bad|>")


def steps_for(size, minutes):
    """The steps of `minutes` of training of shape `size` at its measured rate."""
    tokens = TOKENS_PER_SECOND[size] * 60 * minutes
    return max(1, round(tokens / (BATCH_SIZE * SEQUENCE_LENGTH)))


def get_config(spec="M,15"):
    size, _, minutes = spec.partition(",")
    if size not in SIZES or not minutes:
        raise ValueError(f"configs/code_sweep.py: spec {spec!r} is not <size>,<minutes> with "
                         f"a size of {sorted(SIZES)}")
    steps = steps_for(size, float(minutes))
    config = ml_collections.ConfigDict()
    config.init_from = ""
    config.model = dict(kind="decoder_lm", max_sequence_length=SEQUENCE_LENGTH,
                        activation="gelu", position="learned", norm="layer_norm",
                        tie_embeddings=True, scale_residual_init=True, **SIZES[size])
    config.data = dict(corpus="python_installed_code",
                       corpus_options={"max_bytes": 96_000_000, "max_package_bytes": 12_000_000},
                       files="", sequence_length=SEQUENCE_LENGTH, shuffle_seed=0, max_files=0)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=4096,
                            control_tokens=CONTROL_TOKENS,
                            # 5953 distinct characters (faker's locales, docs in many
                            # scripts): the rarest 0.05% become byte pieces.
                            options={"model_type": "bpe", "character_coverage": 0.9995})
    config.objective = dict(name="mle", options={})
    config.optimizer = defaults.optimizer(weight_decay=0.1)
    config.schedule = defaults.schedule(peak_learning_rate=2e-3, warmup_steps=100)
    config.training = defaults.training(
        steps=steps, batch_size=BATCH_SIZE, precision="mixed_bfloat16", log_every=50,
        eval_every=max(50, steps // 10), eval_steps=16, checkpoint_every_steps=500,
        checkpoint_every_minutes=5.0, keep_checkpoints=2)
    config.evaluation = dict(mode="lm", split="validation", batches=0, num_samples=32,
                             num_prompts=64, max_new_tokens=128, temperature=0.7, top_p=0.9,
                             seed=0)
    return config
