"""tfllm.training: the Trainer (custom tf.distribute loop), strategies, schedules,
checkpoints and TensorBoard summaries."""

from tfllm.training.checkpoints import Checkpointer, restore_model
from tfllm.training.compilation import cluster_fusible_ops, resolve_jit_compile
from tfllm.training.early_stopping import EarlyStopping
from tfllm.training.schedules import WarmupDecay, make_optimizer
from tfllm.training.strategies import STRATEGIES, make_strategy
from tfllm.training.trainer import Trainer, TrainingDiverged

__all__ = ["STRATEGIES", "Checkpointer", "EarlyStopping", "Trainer", "TrainingDiverged",
           "WarmupDecay", "cluster_fusible_ops", "make_optimizer", "make_strategy",
           "resolve_jit_compile", "restore_model"]
