"""tfllm.tokenizers."""
