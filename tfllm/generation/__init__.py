"""Text generation over a KV cache, compiled with XLA.

`generate` is the user-facing entry point (greedy, top-k, top-p, beam);
`sample_tokens` is the traceable sampling loop for RL rollouts and export;
`beam_search` and `decode` work on the model adapters of `adapters`.
"""

from tfllm.generation.decoding import sample_tokens
from tfllm.generation.generate import SAMPLERS, generate

__all__ = ["SAMPLERS", "generate", "sample_tokens"]
