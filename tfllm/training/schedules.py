"""Learning-rate schedules (linear warmup, then cosine, linear, inverse-square-root or
warmup-stable-decay) and the optimizers they drive (AdamW, Muon)."""

import keras
from keras import ops

DECAYS = ("cosine", "linear", "inverse_sqrt", "constant", "wsd")
OPTIMIZERS = ("adamw", "muon")


@keras.saving.register_keras_serializable(package="tfllm")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`peak * step / warmup_steps` for the first `warmup_steps`, then `decay` down to
    `peak * final_fraction` at `decay_steps` (flat afterwards; inverse_sqrt never ends).
    "wsd" (warmup-stable-decay) holds the peak, then decays linearly over the last
    `cooldown_fraction` of the steps after warmup.

    Args:
        peak_learning_rate: the rate reached at the end of warmup.
        warmup_steps: linear warmup length (0: start at the peak).
        decay_steps: the step at which cosine/linear decay ends (usually total steps).
        decay: "cosine", "linear", "inverse_sqrt" (peak * sqrt(warmup / step)), "constant"
            or "wsd".
        final_fraction: floor of cosine/linear/wsd decay as a fraction of the peak.
        cooldown_fraction: the share of the post-warmup steps "wsd" spends decaying.

    Example:
        >>> s = WarmupDecay(1e-3, warmup_steps=10, decay_steps=100)
        >>> float(s(5)), float(s(10))
        (0.0005, 0.001)
    """

    def __init__(self, peak_learning_rate, warmup_steps=0, decay_steps=1, decay="cosine",
                 final_fraction=0.0, cooldown_fraction=0.2):
        if decay not in DECAYS:
            raise ValueError(f"schedule decay {decay!r}: expected one of {DECAYS}")
        if warmup_steps < 0 or decay_steps < 1:
            raise ValueError(f"schedule needs warmup_steps >= 0 and decay_steps >= 1, got "
                             f"{warmup_steps} and {decay_steps}")
        if decay == "inverse_sqrt" and warmup_steps < 1:
            raise ValueError("schedule decay 'inverse_sqrt' needs warmup_steps >= 1")
        if not 0.0 < cooldown_fraction <= 1.0:
            raise ValueError(f"schedule cooldown_fraction must be in (0, 1], got "
                             f"{cooldown_fraction}")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.decay_steps = int(decay_steps)
        self.decay = decay
        self.final_fraction = float(final_fraction)
        self.cooldown_fraction = float(cooldown_fraction)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        warmup = float(max(self.warmup_steps, 1))
        warm = peak * step / warmup
        span = float(max(self.decay_steps - self.warmup_steps, 1))
        progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
        floor = self.final_fraction
        if self.decay == "cosine":
            factor = floor + (1.0 - floor) * 0.5 * (1.0 + ops.cos(3.141592653589793 * progress))
        elif self.decay == "linear":
            factor = 1.0 - (1.0 - floor) * progress
        elif self.decay == "wsd":
            cooldown = ops.clip((progress - 1.0) / self.cooldown_fraction + 1.0, 0.0, 1.0)
            factor = 1.0 - (1.0 - floor) * cooldown
        elif self.decay == "inverse_sqrt":
            factor = ops.sqrt(warmup / ops.maximum(step, warmup))
        else:
            factor = ops.ones_like(step)
        return ops.where(step < self.warmup_steps, warm, peak * factor)

    def get_config(self):
        return dict(peak_learning_rate=self.peak_learning_rate, warmup_steps=self.warmup_steps,
                    decay_steps=self.decay_steps, decay=self.decay,
                    final_fraction=self.final_fraction,
                    cooldown_fraction=self.cooldown_fraction)


class Muon(keras.optimizers.Muon):
    """keras.optimizers.Muon with its Newton-Schulz iteration in bfloat16, as in Keller
    Jordan's reference (github.com/KellerJordan/Muon); its products then reach the CPU's
    bfloat16 matmul kernels (docs/performance.md, "Speedrun at 5x")."""

    def zeropower_via_newtonschulz5(self, x, steps):
        return ops.cast(super().zeropower_via_newtonschulz5(ops.cast(x, "bfloat16"), steps),
                        x.dtype)


def make_optimizer(learning_rate, weight_decay=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                   no_decay=("bias", "gamma", "beta", "embeddings"), loss_scaling=False,
                   kind="adamw"):
    """keras.optimizers.AdamW, or for kind="muon" `Muon` (Newton-Schulz orthogonalised
    momentum for the 2-D matrices, AdamW with these betas for embeddings
    and vectors, Moonlight's update scaling so both share one learning rate). Weight
    decay skips variables whose path contains a `no_decay` word (biases, norms,
    embeddings). `loss_scaling` wraps it in a LossScaleOptimizer (for mixed_float16)."""
    if kind == "adamw":
        optimizer = keras.optimizers.AdamW(learning_rate=learning_rate,
                                           weight_decay=weight_decay, beta_1=beta_1,
                                           beta_2=beta_2, epsilon=epsilon)
    elif kind == "muon":
        optimizer = Muon(learning_rate=learning_rate, weight_decay=weight_decay,
                         adam_weight_decay=weight_decay, adam_beta_1=beta_1, adam_beta_2=beta_2,
                         epsilon=epsilon)
    else:
        raise ValueError(f"optimizer kind {kind!r}: expected one of {OPTIMIZERS}")
    if no_decay:
        optimizer.exclude_from_weight_decay(var_names=list(no_decay))
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
