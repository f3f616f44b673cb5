"""Architecture presets (untrained shapes): tiny for tests, the speedrun shape for models
trained from scratch on a CPU, small (the benchmark workload), GPT-2 small."""

DECODER_PRESETS = {
    # Seconds on a CPU: unit tests.
    "tiny": dict(vocabulary_size=512, num_layers=2, num_heads=2, hidden_dim=32,
                 intermediate_dim=64, max_sequence_length=64),
    # The fastest shape to a target loss on 2 CPU cores (configs/speedrun.py:tfllm,
    # docs/performance.md "Speedrun"): the configs that train from scratch start here.
    "speedrun": dict(vocabulary_size=4096, num_layers=2, num_heads=4, hidden_dim=128,
                     intermediate_dim=512, max_sequence_length=128),
    # The throughput benchmark's workload (tools/bench.py).
    "small": dict(vocabulary_size=8192, num_layers=4, num_heads=4, hidden_dim=256,
                  intermediate_dim=1024, max_sequence_length=256, activation="gelu_tanh"),
    # GPT-2 small (124M): for accelerator users.
    "gpt2_124m": dict(vocabulary_size=50257, num_layers=12, num_heads=12, hidden_dim=768,
                      intermediate_dim=3072, max_sequence_length=1024, dropout=0.1,
                      activation="gelu_tanh"),
}
