"""tfllm.data."""
