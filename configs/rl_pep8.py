"""PPO on the pycodestyle reward (-violations per character of the sampled text), from the
MLE model of the PHF experiment (configs/phf_pep8.py:mle) or any LM workdir.

    tfllm-rl-finetune --config=configs/rl_pep8.py --workdir=runs/rl_pep8
        --config.init_from=runs/phf_v2/mle

Episodes are unconditional samples of up to 128 new tokens after <eos> (prompt_tokens=0),
the distribution tfllm.evaluation.phf measures (its unconditional/* metrics), so the
result compares with the PHF models under tfllm-evaluate --config=configs/phf_pep8.py:mle.
A sample cut by max_new_tokens ends mid-line and pays pycodestyle's W292 (no newline at
end of file); the evaluation scores complete lines only.
"""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    config.init_from = ""
    config.data = dict(corpus="python_stdlib_code", files="", max_files=20)
    config.env = dict(prompt_tokens=0, max_new_tokens=128, num_prompts=4096,
                      num_eval_prompts=256, stop_at_eos=True)
    config.reward = dict(scorer="pep8", scorer_options={}, reward_model="",
                         include_prompt=True)
    config.agent = dict(
        name="ppo", learning_rate=1e-3, num_epochs=4, clip_ratio=0.2, td_lambda=0.95,
        normalize_advantages=True, kl_coef=0.05, kl_target=6.0, kl_horizon=10000,
        whiten_rewards=True, entropy_coef=0.0, value_coef=0.5, gamma=1.0, temperature=1.0,
        epsilon=0.0, max_grad_norm=1.0, baseline="mean", group_size=1, scale_rewards=True,
        epsilon_final=0.0, epsilon_decay_iterations=0,
        target="soft", target_update_tau=0.1, target_update_period=1, n_step_update=1,
        td_loss="huber", replay_capacity=8, updates_per_iteration=4, replay_batch_size=64)
    config.driver = dict(kind="cached", num_episodes=64)
    # The held-out evaluation (tfllm-rl-finetune before and after training; tfllm-evaluate
    # of any policy workdir against reference_workdir, default init_from).
    config.evaluation = dict(mode="rl", num_episodes=256, reference_workdir="")
    config.training = dict(iterations=40, seed=0, log_every=5, sample_every=10,
                           checkpoint_every=20, precision="float32", deterministic=False)
    config.lora = defaults.lora()
    return config
