"""PPO toward positive VADER sentiment, from the small LM pretrained on python_docs_text.

    tfllm-pretrain --config=configs/rl_sentiment_lm.py --workdir=runs/rl_sentiment_lm
    tfllm-rl-finetune --config=configs/rl_sentiment.py --workdir=runs/rl_sentiment
        --config.init_from=runs/rl_sentiment_lm

The reward scores prompt + continuation (include_prompt=True): the sentiment scorer gives
an empty text its best score, and a policy rewarded on the continuation alone learns to
emit <eos> at once (or, with stop_at_eos=False, invisible <eos> tokens).

Defaults: the run of docs/results/rl.md that met the target (ppo_sentiment_lr1e-4_kl0.2_it90).
Learning rate 1e-4 (1e-3 drove the KL to the reference to 76-98 nats within 5 iterations on
the 1500-step LM); kl_coef 0.2 on whitened rewards, in effect fixed (kl_target 6 with a
10000-episode horizon moves it by ~1% over the run); 90 iterations.

GRPO and RLOO (no value loss; G samples per prompt, num_episodes / G prompts a batch):
    --config.agent.name=grpo --config.agent.group_size=8   # TRL's num_generations 8
    --config.agent.name=rloo --config.agent.group_size=4
agent.group_size (default 1) is read by the driver too. Both agents take num_epochs and
clip_ratio as their clipped-ratio steps per batch and epsilon (TRL's defaults: 1 and 0.2;
this config's num_epochs is PPO's 4) and kl_coef as beta: GRPO's k3 loss term, RLOO's
penalty in the reward. agent.scale_rewards=False: GRPO centres rewards in their group
without dividing by its std (Dr. GRPO).

Q-learning (tfllm.rl.QLearningAgent, KL-regularized: Q(s, .) = V(s) + kl_coef log(pi /
pi_ref)(. | s), the value head plus kl_coef times the LM's log-ratio to the reference; the
policy, the LM's softmax = pi_ref exp(Q / kl_coef) normalized, with epsilon of uniform
random tokens, starts as the reference with Q = V = 0):
    --config.agent.name=q [--config.agent.target=hard] [--config.agent.epsilon=0.1]
agent.target: "soft" (default; V(s') = kl_coef log sum_a pi_ref(a|s') exp(Q_target(s', a) /
kl_coef), Jaques et al. 2017, arXiv:1611.02796) or "hard" (max_a' Q_target(s', a')); the
reward is the task reward (whitened per sampled minibatch when whiten_rewards), the KL being
in the soft value. target_update_tau,
target_update_period: Polyak averaging of the target network (tau 1 = a periodic copy;
DqnAgent's argument names); n_step_update: n-step targets; td_loss: "huber" (DqnAgent's
default) or "squared". Replay: the last replay_capacity iterations' episodes (whole
episodes, cached driver only), updates_per_iteration minibatches of replay_batch_size
episodes per iteration. epsilon_final, epsilon_decay_iterations (any agent; 0 = constant):
epsilon decays linearly from agent.epsilon. These Q defaults (tau 0.1 every step, 8
iterations of replay, 4 updates of 64 episodes) were not tuned on this task; the toy task
of tests/rl/test_q_agent.py is what they were checked on.
"""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    config.init_from = ""
    config.data = dict(corpus="python_docs_text", files="", max_files=0)
    config.env = dict(prompt_tokens=8, max_new_tokens=64, num_prompts=4096,
                      num_eval_prompts=512, stop_at_eos=True)
    config.reward = dict(scorer="sentiment", scorer_options={"prefer": "positive"},
                         reward_model="", include_prompt=True)
    config.agent = dict(
        name="ppo", learning_rate=1e-4, num_epochs=4, clip_ratio=0.2, td_lambda=0.95,
        normalize_advantages=True, kl_coef=0.2, kl_target=6.0, kl_horizon=10000,
        whiten_rewards=True, entropy_coef=0.0, value_coef=0.5, gamma=1.0, temperature=1.0,
        epsilon=0.0, max_grad_norm=1.0, baseline="mean", group_size=1, scale_rewards=True,
        epsilon_final=0.0, epsilon_decay_iterations=0,
        target="soft", target_update_tau=0.1, target_update_period=1, n_step_update=1,
        td_loss="huber", replay_capacity=8, updates_per_iteration=4, replay_batch_size=64)
    config.driver = dict(kind="cached", num_episodes=64)
    # The held-out evaluation (tfllm-rl-finetune before and after training; tfllm-evaluate
    # of any policy workdir against reference_workdir, default init_from).
    config.evaluation = dict(mode="rl", num_episodes=256, reference_workdir="")
    config.training = dict(iterations=90, seed=0, log_every=5, sample_every=10,
                           checkpoint_every=20, precision="float32", deterministic=False)
    config.lora = defaults.lora()
    return config
