"""tfllm.training: the Trainer (custom tf.distribute loop), strategies, schedules,
checkpoints and TensorBoard summaries."""

from tfllm.training.checkpoints import Checkpointer, restore_model
from tfllm.training.early_stopping import EarlyStopping
from tfllm.training.schedules import WarmupDecay, make_optimizer
from tfllm.training.strategies import STRATEGIES, make_strategy
from tfllm.training.trainer import Trainer, TrainingDiverged

__all__ = ["STRATEGIES", "Checkpointer", "EarlyStopping", "Trainer", "TrainingDiverged",
           "WarmupDecay", "make_optimizer", "make_strategy",
           "restore_model"]
