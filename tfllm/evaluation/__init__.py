"""tfllm.evaluation."""
