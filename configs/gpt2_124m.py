"""GPT-2 small (124M) pretraining recipe for accelerators (not for a CPU).

    tfllm-pretrain --config=configs/gpt2_124m.py --workdir=runs/gpt2 --strategy=mirrored

Global batch 512 x 1024 tokens = micro-batch 16 x 32 accumulation steps per replica on
one device (divide accumulation_steps by the replica count to keep it), AdamW lr 6e-4,
betas 0.9/0.95, weight decay 0.1, 2000 warmup steps then cosine to 10%, clip 1.0, bf16.
"""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", preset="gpt2_124m")
    config.data = dict(corpus="python_stdlib_code", files="", sequence_length=1024,
                       shuffle_seed=0, max_files=0)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=50257, control_tokens=(),
                            options={"model_type": "bpe"})
    config.objective = dict(name="mle", options={})
    config.optimizer = defaults.optimizer(weight_decay=0.1, beta_2=0.95)
    config.schedule = defaults.schedule(peak_learning_rate=6e-4, warmup_steps=2000)
    config.training = defaults.training(
        steps=600000, batch_size=16, accumulation_steps=32, precision="mixed_bfloat16",
        log_every=10, eval_every=1000, eval_steps=50, checkpoint_every_steps=1000,
        checkpoint_every_minutes=30.0, keep_checkpoints=5, sample_every=1000, num_samples=4,
        sample_length=128, sample_prompt="def ", sample_temperature=0.8, progress=True)
    config.evaluation = dict(mode="lm", split="validation", batches=50)
    return config
