"""tfllm.models."""
