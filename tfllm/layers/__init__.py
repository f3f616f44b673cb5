"""tfllm.layers."""
