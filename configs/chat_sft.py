"""Chat / QA supervised fine-tuning of a DecoderLM on {"prompt", "response"} JSONL.

The data pipeline (tfllm.data.prompts) applies the chat template and masks the prompt
out of the loss, so the MLE objective learns only the responses.

    tfllm-finetune --config=configs/chat_sft.py --workdir=runs/chat \
        --train_file=train.jsonl [--eval_file=valid.jsonl] [--init_workdir=runs/lm_small]
    tfllm-export --workdir=runs/chat --max_new_tokens=64     # text-in/text-out SavedModel

Without --init_workdir a new model (config.model) and tokenizer are trained from the
JSONL texts; with it, the pretrained model and its tokenizer are fine-tuned.
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", preset="tiny", max_sequence_length=128,
                        hidden_dim=128, num_heads=4, intermediate_dim=512,
                        activation="gelu_tanh", dropout=0.1)
    config.data = dict(kind="chat", train_file="", test_file="", sequence_length=128,
                       shuffle_seed=0)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=1000, control_tokens=(),
                            options={})
    config.objective = dict(name="mle", options={})
    config.optimizer = dict(weight_decay=0.01, beta_1=0.9, beta_2=0.98, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=5e-4, warmup_steps=20, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=300, batch_size=16, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=20, eval_every=100, eval_steps=8,
        checkpoint_every_steps=100, checkpoint_every_minutes=0.0, keep_checkpoints=2,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=0, num_samples=2, sample_length=48, sample_prompt="",
        sample_top_k=40, sample_temperature=0.7, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=True, tpu="")
    config.evaluation = dict(mode="lm", split="test", batches=8)
    return config
