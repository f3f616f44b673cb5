"""tfllm.objectives."""
