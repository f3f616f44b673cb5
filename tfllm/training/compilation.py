"""How a training step is compiled: XLA for float32, TF's oneDNN kernels for bfloat16.

XLA's CPU backend upcasts a bfloat16 x bfloat16 -> bfloat16 dot to float32 and runs it at
the float32 rate; TensorFlow's own matmul kernels (oneDNN) run bfloat16 products on the
CPU's AVX512_BF16 / AMX units. So under a bfloat16 compute dtype ("mixed_bfloat16": float32
variables, bfloat16 products, float32 norms, softmax and loss) the step is a TF graph
whose matmuls are oneDNN's, and XLA auto-clustering compiles only the elementwise and
reduction ops between them (TF_XLA_FLAGS "--tf_xla_auto_jit=fusible
--tf_xla_cpu_global_jit": the FUSIBLE op list holds no matmul). Measurements:
docs/performance.md, "bfloat16".
"""

import os

JIT_COMPILE = (True, False, "auto")
FUSIBLE_CLUSTERING = "--tf_xla_auto_jit=fusible --tf_xla_cpu_global_jit"


def parse_jit_compile(value):
    """True, False or "auto" from a config value (booleans may arrive as strings)."""
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    if text == "auto":
        return "auto"
    raise ValueError(f"jit_compile={value!r}: expected one of {JIT_COMPILE}")


def cluster_fusible_ops():
    """Asks XLA to auto-cluster the fusible (non-matmul) ops of TF graphs on the CPU.

    TensorFlow reads TF_XLA_FLAGS once, when it first optimizes a graph, so call this
    before any tf.function runs; a TF_XLA_FLAGS that already sets --tf_xla_auto_jit is
    left as the user set it. Returns the TF_XLA_FLAGS in force.
    """
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if "--tf_xla_auto_jit" not in flags:
        os.environ["TF_XLA_FLAGS"] = f"{flags} {FUSIBLE_CLUSTERING}".strip()
    return os.environ["TF_XLA_FLAGS"]


def resolve_jit_compile(jit_compile, compute_dtype):
    """Whether to XLA-compile a step whose products run in `compute_dtype`.

    "auto": XLA for float32 (and float16); for bfloat16 a TF graph (oneDNN products)
    with the fusible ops clustered by XLA (`cluster_fusible_ops`).
    """
    jit_compile = parse_jit_compile(jit_compile)
    if jit_compile != "auto":
        return jit_compile
    if str(compute_dtype) == "bfloat16":
        cluster_fusible_ops()
        return False
    return True
