"""Chat / QA supervised fine-tuning of a DecoderLM on JSONL of {"prompt", "response"} or
{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]} records.

The data pipeline (tfllm.data.prompts) applies the chat template (config.tokenizer.
chat_template, stored with the run's tokenizer, so `tfllm-generate --interactive` talks in
the same format) and masks everything but the assistant turns out of the loss.
`config.data.pack=True` packs several examples into each row, attention kept within
each example.

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

`configs/chat_sft.py:lora` (needs --init_workdir) trains only rank-8 LoRA adapters on the
attention and feed-forward projections (alpha 16: updates scaled by 2); the workdir then
holds the adapter-only training checkpoints (lora_checkpoints/) and the merged model
(checkpoints/), which tfllm-generate/evaluate/export load as any other
(docs/finetuning.md).
"""

import ml_collections

from tfllm.bin import defaults
from tfllm.data.prompts import ROLE_TEMPLATES


def get_config(variant=""):
    if variant not in ("", "lora"):
        raise ValueError(f"configs/chat_sft.py:{variant}: expected no variant or 'lora'")
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", preset="tiny", max_sequence_length=128,
                        hidden_dim=128, num_heads=4, intermediate_dim=512,
                        activation="gelu_tanh", dropout=0.1)
    config.data = dict(kind="chat", train_file="", test_file="", sequence_length=96,
                       shuffle_seed=0, pack=False)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=1000, control_tokens=(),
                            options={}, chat_template=dict(ROLE_TEMPLATES))
    config.objective = dict(name="mle", options={})
    config.optimizer = defaults.optimizer(beta_2=0.98)
    config.schedule = defaults.schedule()
    config.training = defaults.training(
        steps=500, log_every=25, eval_every=250, sample_length=48, sample_temperature=0.7,
        progress=True)
    config.evaluation = dict(mode="lm", split="test", batches=8)
    config.lora = defaults.lora()
    if variant == "lora":
        config.lora = defaults.lora(rank=8, alpha=16.0, target="attention,feed_forward")
    return config
