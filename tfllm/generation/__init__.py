"""tfllm.generation."""
