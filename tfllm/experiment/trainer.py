"""The Trainer of a config (optimizer, schedule, training sections) and its sampling hooks."""


def flat_config(config, prefix=""):
    """A ConfigDict flattened to {"a.b": value} (for TensorBoard hparams)."""
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if hasattr(value, "items"):
            out.update(flat_config(value, name + "."))
        else:
            out[name] = value
    return out


def sample_fn(config, tokenizer):
    """`(model, seed) -> texts`: config.training.num_samples continuations of the prompt
    (DecoderLM: prompt + continuation, after the `<eos>` that starts every document of the
    LM pipeline; Seq2SeqTransformer: the decoded target of the prompt as a source)."""
    from tfllm.data.seq2seq import encode_sources
    from tfllm.generation import generate
    from tfllm.models import Seq2SeqTransformer

    training = config.training
    prompt_text = training.get("sample_prompt", "")
    text = tokenizer.encode(prompt_text)
    source = encode_sources(tokenizer, [prompt_text])[0]
    banned = list(tokenizer.control_token_ids.values())

    def sample(model, seed):
        prompt = source if isinstance(model, Seq2SeqTransformer) else [tokenizer.eos_id] + text
        ids = generate(model, [prompt] * training.num_samples, training.sample_length,
                       sampler="top_k", k=training.get("sample_top_k", 40),
                       temperature=training.get("sample_temperature", 1.0), seed=seed,
                       stop_token_ids=[tokenizer.eos_id], banned_token_ids=banned,
                       pad_token_id=tokenizer.pad_id)
        return [tokenizer.decode(row) for row in ids]

    return sample


def scorer_for(config):
    """`texts -> document scores` of the scorer named by config.training.sample_scorer
    (None without one)."""
    name = config.training.get("sample_scorer", "")
    if not name:
        return None
    from tfllm.feedback import get_scorer

    scorer = get_scorer(name)
    return lambda texts: [scored.document_score for scored in scorer.score(texts)]


def check_training(config):
    """ValueError for config.training fields that cannot run (before anything is built)."""
    if config.training.get("steps", 1) < 1:
        raise ValueError(f"config.training.steps={config.training.steps}: train for at "
                         "least 1 step")


def make_trainer(config, strategy, workdir, model, objective, train_data, eval_data=None,
                 sample=None, scorer=None):
    """A Trainer configured by config.optimizer, config.schedule and config.training."""
    from tfllm.training import EarlyStopping, Trainer, WarmupDecay, make_optimizer

    check_training(config)
    t, o, s = config.training, config.optimizer, config.schedule
    schedule = WarmupDecay(s.peak_learning_rate, s.warmup_steps,
                           s.get("decay_steps", 0) or t.steps, s.decay,
                           s.get("final_fraction", 0.0), s.get("cooldown_fraction", 0.2))

    def optimizer():
        return make_optimizer(schedule, o.weight_decay, o.beta_1, o.beta_2, o.epsilon,
                              loss_scaling=t.precision == "mixed_float16",
                              kind=o.get("kind", "adamw"))

    stopping = EarlyStopping(t.early_stopping_metric, t.early_stopping_mode,
                             t.early_stopping_patience) if t.get("early_stopping_metric") \
        else None
    profile = (t.profile_first, t.profile_last) if t.get("profile_first") else None
    return Trainer(
        model, objective, train_data, optimizer, total_steps=t.steps, workdir=workdir,
        strategy=strategy, eval_data=eval_data, eval_every=t.eval_every,
        eval_steps=t.eval_steps, accumulation_steps=t.accumulation_steps,
        clip_norm=t.clip_norm, jit_compile=t.jit_compile, nan_policy=t.nan_policy,
        log_every=t.log_every, checkpoint_every_steps=t.checkpoint_every_steps,
        checkpoint_every_minutes=t.checkpoint_every_minutes,
        keep_checkpoints=t.keep_checkpoints, early_stopping=stopping, sample_fn=sample,
        scorer=scorer,
        sample_every=t.sample_every, histogram_every=t.histogram_every,
        profile_steps=profile, hparams=flat_config(config), progress=t.progress,
        seed=t.seed)
