"""tfllm.feedback."""
