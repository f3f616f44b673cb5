"""Chat / QA supervised fine-tuning of a DecoderLM on {"prompt", "response"} JSONL.

The data pipeline (tfllm.data.prompts) applies the chat template and masks the prompt
out of the loss, so the MLE objective learns only the responses.

    tfllm-finetune --config=configs/chat_sft.py --workdir=runs/chat \
        --train_file=train.jsonl [--eval_file=valid.jsonl] [--init_workdir=runs/lm_small]
    tfllm-generate --workdir=runs/chat --interactive --sampler=greedy --max_new_tokens=40
    tfllm-export --workdir=runs/chat --max_new_tokens=64     # text-in/text-out SavedModel

The measured run in docs/results/apps.md: questions about the embedded stdlib functions
("What does `def f(x):` do?"), answered by their docstring's first line:

    .venv/bin/python tools/app_experiments.py --workdir=runs/app_chat_data \
        --write_chat_data=runs/app_chat_data
    tfllm-finetune --config=configs/chat_sft.py --workdir=runs/app_chat \
        --train_file=runs/app_chat_data/train.jsonl --eval_file=runs/app_chat_data/test.jsonl

Without --init_workdir a new model (config.model) and tokenizer are trained from the
JSONL texts; with it, the pretrained model and its tokenizer are fine-tuned.
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", preset="tiny", max_sequence_length=128,
                        hidden_dim=128, num_heads=4, intermediate_dim=512,
                        activation="gelu_tanh", dropout=0.1)
    config.data = dict(kind="chat", train_file="", test_file="", sequence_length=96,
                       shuffle_seed=0)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=1000, control_tokens=(),
                            options={})
    config.objective = dict(name="mle", options={})
    config.optimizer = dict(weight_decay=0.01, beta_1=0.9, beta_2=0.98, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=1e-3, warmup_steps=30, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=500, batch_size=32, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=25, eval_every=250, eval_steps=0,
        checkpoint_every_steps=250, checkpoint_every_minutes=0.0, keep_checkpoints=2,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=0, num_samples=2, sample_length=48, sample_prompt="",
        sample_top_k=40, sample_temperature=0.7, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=True, tpu="")
    config.evaluation = dict(mode="lm", split="test", batches=8)
    return config
