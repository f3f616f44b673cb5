"""Text generation over a KV cache, compiled with XLA.

`generate` is the user-facing entry point, decoding with a Sampler of `samplers`
(greedy, random, top-k, top-p, beam; keras_hub.samplers' names);
`sample_tokens` is the traceable sampling loop for RL rollouts and export;
`beam_search` and `decode` work on the model adapters of `adapters`.
"""

from tfllm.generation import samplers
from tfllm.generation.decoding import sample_tokens
from tfllm.generation.generate import generate
from tfllm.generation.samplers import (SAMPLERS, BeamSampler, GreedySampler, RandomSampler,
                                       Sampler, TopKSampler, TopPSampler)

__all__ = ["SAMPLERS", "BeamSampler", "GreedySampler", "RandomSampler", "Sampler",
           "TopKSampler", "TopPSampler", "generate", "sample_tokens", "samplers"]
