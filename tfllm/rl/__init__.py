"""tfllm.rl: reward-based fine-tuning of Keras LMs with TF-Agents (the only TF-Agents user).

environment (TokenEnvironment), policy (LMPolicy), drivers (CachedSamplingDriver; or
TF-Agents' DynamicEpisodeDriver over a TFPyEnvironment), agents (ReinforceAgent, PPOAgent;
GRPOAgent and RLOOAgent on groups of samples per prompt; QLearningAgent, value-based, with
the episode replay EpisodeReplay), KLController, rewards
(text_reward_fn, reward_fn_from_workdir), export (save_policy, load_policy), preferences
(pairs for reward models and DPO).
"""

from tfllm.rl.driver import CachedSamplingDriver
from tfllm.rl.environment import TokenEnvironment, tf_specs
from tfllm.rl.export import load_policy, save_policy
from tfllm.rl.grpo_agent import GRPOAgent
from tfllm.rl.kl_control import KLController
from tfllm.rl.policy import LMPolicy
from tfllm.rl.ppo_agent import PPOAgent
from tfllm.rl.q_agent import QLearningAgent
from tfllm.rl.reinforce_agent import ReinforceAgent
from tfllm.rl.replay import EpisodeReplay
from tfllm.rl.rloo_agent import RLOOAgent
from tfllm.rl.rewards import reward_fn_from_workdir, text_reward_fn

__all__ = ["CachedSamplingDriver", "EpisodeReplay", "GRPOAgent", "KLController", "LMPolicy",
           "PPOAgent", "QLearningAgent", "RLOOAgent", "ReinforceAgent", "TokenEnvironment",
           "load_policy", "reward_fn_from_workdir", "save_policy", "text_reward_fn", "tf_specs"]
