"""tfllm.bin."""
