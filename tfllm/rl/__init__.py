"""tfllm.rl."""
