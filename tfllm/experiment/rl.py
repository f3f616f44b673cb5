"""An RL config's reward, prompt environment and held-out evaluation (tfllm-rl-finetune,
tfllm-evaluate rl)."""

import random

from tfllm.experiment.corpus import corpus_texts


def reward_fn(config, tokenizer):
    """The token reward_fn of config.reward: a scorer, or a tfllm-train-reward workdir."""
    from tfllm.rl.rewards import reward_fn_from_workdir, text_reward_fn

    r = config.reward
    if bool(r.scorer) == bool(r.reward_model):
        raise ValueError("config.reward: give exactly one of scorer or reward_model")
    if r.reward_model:
        reward = reward_fn_from_workdir(r.reward_model)
    else:
        from tfllm.feedback import get_scorer
        reward = get_scorer(r.scorer, **dict(r.scorer_options))
    return text_reward_fn(reward, tokenizer, include_prompt=r.include_prompt)


def environment(config, tokenizer, split, reward, seed):
    """A TokenEnvironment on config.env prompts cut from the corpus texts of `split`
    (num_prompts for "train", num_eval_prompts otherwise, shuffled by the training seed)."""
    from tfllm.rl import TokenEnvironment
    from tfllm.rl.preferences import text_prompts

    e = config.env
    prompts = text_prompts(corpus_texts(config, split), tokenizer, e.prompt_tokens)
    count = e.num_prompts if split == "train" else e.num_eval_prompts
    if not prompts:
        raise ValueError(f"config.env: no {split} text has {e.prompt_tokens} tokens for a prompt")
    random.Random(config.training.seed).shuffle(prompts)
    return TokenEnvironment(prompts[:count], tokenizer.vocabulary_size, e.max_new_tokens,
                            reward, eos_id=tokenizer.eos_id if e.stop_at_eos else None,
                            pad_id=tokenizer.pad_id, seed=seed)


class HeldOutEvaluation:
    """The held-out evaluation of an RL config: episodes on the validation prompts, drawn
    with the prompt seed training.seed + 1 and sampled with training.seed + 7, so every
    call (the initial and final evaluations of tfllm-rl-finetune, tfllm-evaluate rl on any
    policy workdir) sees the same prompts. The prompts are read and tokenized once."""

    def __init__(self, config, tokenizer, reward):
        self.tokenizer = tokenizer
        self.num_episodes = int(config.evaluation.num_episodes)
        self.prompt_seed = config.training.seed + 1
        self.sampler_seed = config.training.seed + 7
        self.environment = environment(config, tokenizer, "validation", reward,
                                       self.prompt_seed)

    def __call__(self, policy, statistics, num_episodes=None, sampler_seed=None):
        """tfllm.rl.evaluation.evaluate_policy of `policy` (default: num_episodes episodes
        sampled with the held-out sampler seed)."""
        from tfllm.rl.evaluation import evaluate_policy

        self.environment.seed(self.prompt_seed)
        return evaluate_policy(
            policy, self.environment, num_episodes or self.num_episodes,
            self.sampler_seed if sampler_seed is None else sampler_seed, self.tokenizer,
            statistics)
