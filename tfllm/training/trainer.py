"""The Trainer: a custom tf.distribute loop around any objective(model, batch) -> (loss, metrics).

Per step each replica takes a stack of `accumulation_steps` micro-batches, computes the
averaged gradients in one XLA-compiled function (Keras turns XLA off under strategies;
this loop compiles the per-replica function itself), all-reduces them, clips by global
norm and applies the optimizer. Checkpoints hold the model, optimizer, step, RNG state
and the objective's own variables (e.g. a decay schedule's counter); the input position
is the step (batches are skipped deterministically on resume). A LoRA model's checkpoints
hold only its trainable variables (tfllm.training.checkpoints.training_checkpoints).
"""

import math
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from tqdm import tqdm

from tfllm.training import inputs, strategies
from tfllm.models.lora import lora_enabled
from tfllm.training.checkpoints import Checkpointer, save_lora_outputs, training_checkpoints
from tfllm.training.compilation import resolve_jit_compile
from tfllm.training.summaries import Summaries, samples_markdown

NAN_POLICIES = ("stop", "skip")


class TrainingDiverged(FloatingPointError):
    """The loss or gradient norm became NaN/Inf and nan_policy is "stop"."""


def check_rows_fit(model, dataset, name):
    """ValueError, before anything is traced, when `dataset`'s token rows are longer than
    the model's positions (inside compiled code the error would lose its message)."""
    limit = getattr(model, "max_sequence_length", None)
    spec = getattr(dataset, "element_spec", None)
    if not limit or not isinstance(spec, dict):
        return
    for key, tensor_spec in sorted(spec.items()):
        shape = getattr(tensor_spec, "shape", None)
        if (key.endswith("token_ids") and shape is not None and shape.rank == 2
                and shape[1] is not None and shape[1] > limit):
            raise ValueError(f"{name}: {key} rows of {shape[1]} tokens exceed the model's "
                             f"max_sequence_length {limit} (shorten the data's sequence "
                             f"length or raise config.model.max_sequence_length)")


def objective_state(objective):
    """{attribute: tf.Variable} of `objective`: the state it carries from step to step (its
    tf.Variables and the states of its Keras seed generators)."""
    state = {}
    for name, value in sorted(getattr(objective, "__dict__", {}).items()):
        if isinstance(value, keras.random.SeedGenerator):
            value = value.state.value
        if isinstance(value, tf.Variable):
            state[name] = value
    return state


def with_perplexity(values):
    """`values` plus perplexity = exp(token_loss) where the objective reports a token loss
    (DPO's or a classifier's loss is not a per-token negative log-likelihood)."""
    if "token_loss" not in values:
        return values
    return {**values, "perplexity": math.exp(min(float(values["token_loss"]), 700.0))}


class Trainer:
    """Trains `model` on `objective` under a tf.distribute strategy.

    Args:
        model: a keras.Model built inside `strategy.scope()`, or a zero-argument
            function that builds it (called inside the scope).
        objective: `objective(model, batch, training=True) -> (loss, metrics dict)`.
        train_data: a tf.data.Dataset of global batches (repeated), or a function
            `tf.distribute.InputContext -> dataset` of per-replica batches.
        optimizer: a zero-argument function returning a Keras optimizer (called inside
            the scope), or an optimizer created inside it; see `make_optimizer`.
        total_steps: optimizer steps to train for.
        workdir: checkpoints go to `<workdir>/checkpoints`, TensorBoard to
            `<workdir>/tensorboard`; None: neither.
        strategy: a tf.distribute strategy (default: the default strategy).
        eval_data: like `train_data` (finite); evaluated every `eval_every` steps on at
            most `eval_steps` batches, and at the end.
        accumulation_steps: micro-batches per optimizer step (the dataset batch is the
            micro-batch).
        clip_norm: clip gradients to this global norm (None: no clipping).
        jit_compile: XLA-compile the per-replica gradient and evaluation functions (True),
            run them as TF graphs (False), or "auto": XLA for a float32 model, graphs
            with oneDNN's bfloat16 products for a mixed_bfloat16 one
            (`tfllm.training.compilation`).
        nan_policy: on a NaN/Inf loss or gradient norm, "stop" (raise TrainingDiverged
            naming the step; no checkpoint is written) or "skip" (the update is skipped).
        log_every: scalar logging interval in steps.
        checkpoint_every_steps, checkpoint_every_minutes, keep_checkpoints: checkpointing.
        early_stopping: an EarlyStopping, checked after each evaluation.
        sample_fn: `sample_fn(model, seed) -> list[str]`, called every `sample_every`
            steps and logged as text; `scorer(texts) -> list[float]` adds a score column.
        histogram_every: log weight and gradient histograms every this many steps (0: off).
        profile_steps: (first, last) steps traced by the TensorFlow profiler.
        hparams: a flat dict logged with TensorBoard's hparams plugin.
        trace_graph: log the graph of the first training step.
        progress: show a tqdm progress bar (chief only).
        seed: seed of the checkpointed tf.random.Generator (sample seeds).
    """

    def __init__(self, model, objective, train_data, optimizer, total_steps, workdir=None,
                 strategy=None, eval_data=None, eval_every=0, eval_steps=None,
                 accumulation_steps=1, clip_norm=None, jit_compile="auto", nan_policy="stop",
                 log_every=10, checkpoint_every_steps=0, checkpoint_every_minutes=0.0,
                 keep_checkpoints=3, early_stopping=None, sample_fn=None, scorer=None,
                 sample_every=0, histogram_every=0, profile_steps=None, hparams=None,
                 trace_graph=True, progress=True, seed=0):
        if nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy {nan_policy!r}: expected one of {NAN_POLICIES}")
        if accumulation_steps < 1 or total_steps < 1:
            raise ValueError(f"accumulation_steps ({accumulation_steps}) and total_steps "
                             f"({total_steps}) must be >= 1")
        self.strategy = strategy or tf.distribute.get_strategy()
        self.objective = objective
        self.train_data = train_data
        self.eval_data = eval_data
        self.total_steps = int(total_steps)
        self.eval_every = int(eval_every)
        self.eval_steps = eval_steps
        self.accumulation_steps = int(accumulation_steps)
        self.clip_norm = float(clip_norm) if clip_norm else None
        self.nan_policy = nan_policy
        self.log_every = max(int(log_every), 1)
        self.early_stopping = early_stopping
        self.sample_fn, self.scorer, self.sample_every = sample_fn, scorer, int(sample_every)
        self.histogram_every = int(histogram_every)
        self.profile_steps = tuple(profile_steps) if profile_steps else (None, None)
        self.hparams = hparams
        self.trace_graph = trace_graph
        self.progress = progress
        self.chief = strategies.is_chief(self.strategy)
        self.multi_worker = strategies.num_workers(self.strategy) > 1
        with self.strategy.scope():
            self.model = model if isinstance(model, keras.Model) else model()
            self.optimizer = optimizer() if callable(optimizer) and not isinstance(
                optimizer, keras.optimizers.Optimizer) else optimizer
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        check_rows_fit(self.model, train_data, "training data")
        check_rows_fit(self.model, eval_data, "evaluation data")
        if self.strategy.num_replicas_in_sync > 1:
            # The step all-reduces the gradients itself (clipping needs the global norm);
            # Keras' optimizer would all-reduce (sum) them a second time, through a
            # private hook that tests/test_private_apis.py watches.
            inner = getattr(self.optimizer, "inner_optimizer", self.optimizer)
            if not hasattr(inner, "_all_reduce_sum_gradients"):
                raise RuntimeError(f"keras {keras.__version__}: the optimizer has no "
                                   "_all_reduce_sum_gradients to turn off")
            inner._all_reduce_sum_gradients = list
        self.rng = tf.random.Generator.from_seed(seed)
        self.loss_scaling = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
        self.jit_compile = resolve_jit_compile(jit_compile, self.model.compute_dtype)
        self._gradients = tf.function(self._accumulate, jit_compile=self.jit_compile)
        self._evaluate_batch = tf.function(self._objective_eval, jit_compile=self.jit_compile)
        self._train_step = tf.function(self._distributed_train_step)
        self._eval_step = tf.function(self._distributed_eval_step)
        self.workdir = workdir
        self.summaries = Summaries(os.path.join(workdir, "tensorboard") if workdir else None,
                                   enabled=self.chief)
        self.lora = lora_enabled(self.model)
        self.checkpointer = None
        if workdir:
            directory, model_state = training_checkpoints(workdir, self.model)
            self.checkpointer = Checkpointer(
                directory, self.step, keep_checkpoints, checkpoint_every_steps,
                checkpoint_every_minutes, chief=self.chief,
                worker=strategies.worker_id(self.strategy), **model_state,
                optimizer=self.optimizer, rng=self.rng, **self._objective_trackable())

    def _objective_trackable(self):
        state = objective_state(self.objective)
        return {"objective": tf.train.Checkpoint(**state)} if state else {}

    # ------------------------------------------------------------ compiled parts
    def _accumulate(self, stack):
        """Mean loss, metrics and gradients over the micro-batches of one replica stack."""
        variables = self.model.trainable_variables

        def micro(i):
            batch = {key: value[i] for key, value in stack.items()}
            with tf.GradientTape() as tape:
                loss, metrics = self.objective(self.model, batch, training=True)
                scaled = self.optimizer.scale_loss(loss)
            grads = tape.gradient(scaled, variables)
            grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                     for g, v in zip(grads, variables)]
            metrics = {key: tf.cast(value, tf.float32) for key, value in metrics.items()}
            return tf.cast(loss, tf.float32), metrics, grads

        loss, metrics, grads = micro(0)
        n = self.accumulation_steps
        if n > 1:
            def body(i, loss, metrics, grads):
                l, m, g = micro(i)
                return (i + 1, loss + l, {k: metrics[k] + m[k] for k in metrics},
                        [a + b for a, b in zip(grads, g)])
            _, loss, metrics, grads = tf.while_loop(
                lambda i, *_: i < n, body, (tf.constant(1), loss, metrics, grads))
            loss, grads = loss / n, [g / n for g in grads]
            metrics = {k: v / n for k, v in metrics.items()}
        return loss, metrics, grads

    def _objective_eval(self, batch):
        loss, metrics = self.objective(self.model, batch, training=False)
        return {"loss": tf.cast(loss, tf.float32),
                **{k: tf.cast(v, tf.float32) for k, v in metrics.items()}}

    def _apply(self, finite, grads):
        """optimizer.apply, skipped when not `finite` under nan_policy="skip"."""
        variables = self.model.trainable_variables
        if self.nan_policy == "stop":
            self.optimizer.apply(grads, variables)
            return

        def apply(grads):
            self.optimizer.apply(grads, variables)

        if tf.__internal__.distribute.strategy_supports_no_merge_call():
            tf.cond(finite, lambda: apply(grads), lambda: None)
            return

        def cross_replica(distribution, finite, grads):
            # A cond whose branch calls merge_call must run in cross-replica context.
            finite = distribution.experimental_local_results(finite)[0]
            tf.cond(finite,
                    lambda: distribution.extended.call_for_each_replica(apply, args=(grads,)),
                    lambda: None)

        tf.distribute.get_replica_context().merge_call(cross_replica, args=(finite, grads))

    def _replica_train_step(self, stack, with_gradients):
        loss, metrics, grads = self._gradients(stack)
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        if replicas > 1:
            grads = context.all_reduce(tf.distribute.ReduceOp.MEAN, grads)
            loss = context.all_reduce(tf.distribute.ReduceOp.MEAN, loss)
        scale = self.optimizer.dynamic_scale if self.loss_scaling else 1.0
        grad_norm = tf.linalg.global_norm(grads) / scale
        finite = tf.math.is_finite(loss)
        if not self.loss_scaling:  # a loss-scaling optimizer skips overflows itself
            finite = tf.logical_and(finite, tf.math.is_finite(grad_norm))
        if self.clip_norm:
            factor = self.clip_norm / tf.maximum(grad_norm, self.clip_norm)
            grads = [g * factor for g in grads]
        learning_rate = tf.cast(self.optimizer.learning_rate, tf.float32)
        self._apply(finite, grads)
        tokens = sum(tf.size(v) for k, v in stack.items() if k.endswith("token_ids"))
        out = {"loss": loss, "grad_norm": grad_norm, "finite": tf.cast(finite, tf.float32),
               "learning_rate": learning_rate, "tokens": tf.cast(tokens, tf.float32),
               "metrics": metrics}
        if with_gradients:
            out["gradients"] = grads
        return out

    def _distributed_train_step(self, iterator, with_gradients):
        stack = next(iterator)
        out = self.strategy.run(self._replica_train_step, args=(stack, with_gradients))
        self.step.assign_add(1)
        mean = tf.distribute.ReduceOp.MEAN
        result = {k: self.strategy.reduce(mean, out[k], axis=None)
                  for k in ("loss", "grad_norm", "finite", "learning_rate")}
        result["tokens"] = self.strategy.reduce(tf.distribute.ReduceOp.SUM, out["tokens"],
                                                axis=None)
        result["metrics"] = {k: self.strategy.reduce(mean, v, axis=None)
                             for k, v in out["metrics"].items()}
        if with_gradients:
            result["gradients"] = [self.strategy.experimental_local_results(g)[0]
                                   for g in out["gradients"]]
        return result

    def _distributed_eval_step(self, stack):
        out = self.strategy.run(
            lambda s: self._evaluate_batch({k: v[0] for k, v in s.items()}), args=(stack,))
        op = tf.distribute.ReduceOp
        return {k: self.strategy.reduce(op.SUM if k == "tokens" else op.MEAN, v, axis=None)
                for k, v in out.items()}

    # ------------------------------------------------------------------ host loop
    def evaluate(self):
        """Mean loss, objective metrics and perplexity over the evaluation data."""
        if self.eval_data is None:
            return {}
        totals, count = {}, 0
        for stack in inputs.distribute(self.strategy, self.eval_data):
            if self.eval_steps and count >= self.eval_steps:
                break
            for key, value in self._eval_step(stack).items():
                totals[key] = totals.get(key, 0.0) + float(value)
            count += 1
        if not count:
            raise ValueError("the evaluation dataset is empty (fewer examples than one batch?)")
        # Means over batches, except "tokens": the number of tokens evaluated (as in
        # tfllm-evaluate), not a per-batch mean.
        values = with_perplexity({key: value if key == "tokens" else value / count
                                  for key, value in totals.items()})
        return {f"eval/{key}": value for key, value in values.items()}

    def restore(self):
        """Restores the newest readable checkpoint in the workdir; returns its step (0 if none)."""
        if self.checkpointer is not None and self.checkpointer.restore():
            logging.info("resumed from step %d", int(self.step.numpy()))
        return int(self.step.numpy())

    def _agree(self, flag):
        """`flag` or'ed over workers (time-based decisions must match on every worker)."""
        if not self.multi_worker or not self.checkpointer.every_minutes:
            return flag
        value = self.strategy.run(lambda: tf.constant(float(flag)))
        return bool(self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) > 0)

    def _log_samples(self, step):
        seed = int(self.rng.uniform_full_int([], tf.int32).numpy())
        if not self.chief:
            return
        texts = list(self.sample_fn(self.model, seed))
        scores = list(self.scorer(texts)) if self.scorer else None
        self.summaries.text(step, "samples", samples_markdown(texts, scores))
        if self.scorer:
            self.summaries.scalars(step, {"samples/mean_score": float(np.mean(scores))})

    def _log_histograms(self, step, gradients):
        values = {}
        for variable, gradient in zip(self.model.trainable_variables, gradients):
            values[f"weights/{variable.path}"] = variable.value
            values[f"gradients/{variable.path}"] = gradient
        self.summaries.histograms(step, values)

    def train(self):
        """Trains from the latest checkpoint (if any) to `total_steps`.

        Returns:
            dict: "step", "stopped" ("completed", "early_stopping" or "data_exhausted"),
            "train/loss" (last step), "tokens_per_s" (mean after the first step),
            "skipped_batches" and the last evaluation's metrics.

        Raises:
            TrainingDiverged: a NaN/Inf loss under nan_policy="stop".
        """
        start = self.restore()
        result = {"step": start, "stopped": "completed", "skipped_batches": 0}
        if start >= self.total_steps:
            # A rerun of a finished (or killed after its last checkpoint) run: do the
            # final evaluation again, so the run ends as an uninterrupted one does.
            self._save_merged()
            return self._finish(result, evaluated=False)
        if (isinstance(self.eval_data, tf.data.Dataset)
                and not any(True for _ in self.eval_data.take(1))):
            raise ValueError("the evaluation dataset is empty (fewer examples than one "
                             "batch?); found before training")
        if self.hparams:
            self.summaries.hparams(self.hparams)
        iterator = iter(inputs.distribute(self.strategy, self.train_data,
                                          self.accumulation_steps, skip_steps=start))
        bar = tqdm(total=self.total_steps, initial=start, dynamic_ncols=True,
                   disable=not (self.progress and self.chief))
        timed_tokens, timed_seconds, last = 0.0, 0.0, time.perf_counter()
        try:
            for step in range(start + 1, self.total_steps + 1):
                self.summaries.profile(step, *self.profile_steps)
                histograms = bool(self.histogram_every) and step % self.histogram_every == 0
                tracing = self.trace_graph and step == start + 1
                if tracing:
                    self.summaries.trace_on()
                try:
                    out = self._train_step(iterator, histograms)
                except tf.errors.OutOfRangeError:
                    result["stopped"] = "data_exhausted"
                    break
                loss = float(out["loss"])
                now = time.perf_counter()
                seconds, last = now - last, now
                if tracing:
                    self.summaries.trace_export(step)
                if step > start + 1:
                    timed_tokens += float(out["tokens"])
                    timed_seconds += seconds
                if not float(out["finite"]):
                    if self.nan_policy == "stop":
                        raise TrainingDiverged(
                            f"step {step}: non-finite loss {loss} or gradient norm "
                            f"{float(out['grad_norm'])}; training stopped without saving "
                            f"(set nan_policy='skip' to skip such batches)")
                    result["skipped_batches"] += 1
                    logging.warning("step %d: non-finite loss or gradients, batch skipped", step)
                result.update({"step": step, "train/loss": loss})
                if step % self.log_every == 0 or step == self.total_steps:
                    values = {"loss": loss, "learning_rate": float(out["learning_rate"]),
                              "grad_norm": float(out["grad_norm"]),
                              "tokens_per_s": float(out["tokens"]) / seconds,
                              "step_time_s": seconds,
                              "skipped_batches": result["skipped_batches"],
                              # "tokens" (per batch, nearly constant) is in tokens_per_s.
                              **{k: float(v) for k, v in out["metrics"].items()
                                 if k != "tokens"}}
                    values = with_perplexity(values)
                    self.summaries.scalars(step, {f"train/{k}": v for k, v in values.items()})
                if histograms:
                    self._log_histograms(step, out["gradients"])
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}",
                                tok_s=f"{float(out['tokens']) / seconds:.0f}")
                stop = self._periodic(step, result)
                if self.checkpointer and self._agree(self.checkpointer.due(step)):
                    self.checkpointer.save()
                last = time.perf_counter()  # evaluation/sampling/saving time is not step time
                if stop:
                    result["stopped"] = "early_stopping"
                    break
        finally:
            bar.close()
            self.summaries.profile(self.total_steps + 2, *self.profile_steps)
        # The final checkpoint first: nothing after it can lose the training.
        if self.checkpointer and int(self.step.numpy()) != self.checkpointer.last_step:
            self.checkpointer.save()
        self._save_merged()
        result["tokens_per_s"] = timed_tokens / timed_seconds if timed_seconds else float("nan")
        evaluated = bool(self.eval_every) and result["step"] % self.eval_every == 0
        return self._finish(result, evaluated)

    def _save_merged(self):
        """A LoRA run's merged model and adapters file (`save_lora_outputs`; chief only)."""
        if self.lora and self.workdir and self.chief:
            save_lora_outputs(self.workdir, self.model, int(self.step.numpy()))

    def _finish(self, result, evaluated):
        """The final evaluation (unless the last step just had one), logged at the last
        step; returns `result` with its metrics."""
        if self.eval_data is not None and not evaluated:
            metrics = self.evaluate()
            result.update(metrics)
            self.summaries.scalars(result["step"], metrics)
        self.summaries.writer.flush()
        return result

    def _periodic(self, step, result):
        """Evaluation, early stopping and samples due at `step`; True to stop."""
        stop = False
        if self.eval_data is not None and self.eval_every and step % self.eval_every == 0:
            metrics = self.evaluate()
            result.update(metrics)
            self.summaries.scalars(step, metrics)
            if self.early_stopping is not None:
                stop = self.early_stopping.update(metrics)
        if self.sample_fn is not None and self.sample_every and step % self.sample_every == 0:
            self._log_samples(step)
        return stop

    def close(self):
        """Flushes and closes the TensorBoard writer."""
        self.summaries.close()
