#!/usr/bin/env bash
# tfllm beside the shared peer benchmark (keras-hub, plain TF, PyTorch), in ONE run,
# each measurement in its own process through the benchmark's harness (waits for a
# quiet box, retries noisy runs); then the benchmark's report table.
#
#   bash tools/bench_peers.sh                       # everything, REPEATS=1
#   REPEATS=3 ONLY='gen' bash tools/bench_peers.sh  # a subset (regex on the label)
#
# Env: BENCH_DIR (the shared bench folder, default ../shared/bench beside the repo),
#      TF_PY (interpreter with tensorflow/keras/keras-hub: BENCH_DIR/.venvs/tf if it
#      exists, else this project's .venv), TORCH_PY (torch peers run only if set or
#      BENCH_DIR/.venvs/torch exists), TFLLM_PY (default .venv/bin/python),
#      OUT (jsonl, default runs/bench/peers-<UTC>.jsonl), REPEATS, ONLY,
#      and the harness's BENCH_* variables.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=$(cd "${BENCH_DIR:-$REPO/../shared/bench}" && pwd) || {
  echo "bench_peers.sh: no benchmark folder; set BENCH_DIR" >&2; exit 2; }
TFLLM_PY=${TFLLM_PY:-$REPO/.venv/bin/python}
if [ -z "${TF_PY:-}" ]; then
  TF_PY=$BENCH_DIR/.venvs/tf/bin/python
  [ -x "$TF_PY" ] || TF_PY=$TFLLM_PY
fi
TORCH_PY=${TORCH_PY:-$BENCH_DIR/.venvs/torch/bin/python}
REPEATS=${REPEATS:-1}
ONLY=${ONLY:-.}
OUT=${OUT:-$REPO/runs/bench/peers-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
PY3=${PY3:-python3}
mkdir -p "$(dirname "$OUT")"
PEER="$REPO/tools/peer_tfllm.py --bench-dir $BENCH_DIR"

JOBS=(
  "tfllm/train/xla|$TFLLM_PY|$PEER --measure train"
  "tfllm/train/bf16|$TFLLM_PY|$PEER --measure train --precision mixed_bfloat16"
  "tfllm/gen/xla/b8|$TFLLM_PY|$PEER --measure gen --batch 8"
  "tfllm/gen/xla/b1|$TFLLM_PY|$PEER --measure gen --batch 1"
  "keras_hub/train/fit_xla|$TF_PY|peer_keras_hub.py --measure train --jit"
  "keras_hub/gen/generate_xla/b8|$TF_PY|peer_keras_hub.py --measure gen --batch 8 --jit"
  "keras_hub/gen/generate_xla/b1|$TF_PY|peer_keras_hub.py --measure gen --batch 1 --jit"
  "tf/train/xla|$TF_PY|peer_tf.py --measure train"
  "tf/gen/xla/b8|$TF_PY|peer_tf.py --measure gen --batch 8"
  "tf/gen/xla/b1|$TF_PY|peer_tf.py --measure gen --batch 1"
)
if [ -x "$TORCH_PY" ]; then
  JOBS+=(
    "torch/train/eager|$TORCH_PY|peer_torch.py --measure train"
    "torch/gen/eager/b8|$TORCH_PY|peer_torch.py --measure gen --batch 8"
    "torch/gen/eager/b1|$TORCH_PY|peer_torch.py --measure gen --batch 1"
  )
else
  echo "bench_peers.sh: no torch interpreter ($TORCH_PY): torch peers skipped" >&2
fi

echo "tfllm: $TFLLM_PY  tf/keras: $TF_PY  repeats: $REPEATS  out: $OUT" >&2
for r in $(seq 1 "$REPEATS"); do
  echo "== repeat $r/$REPEATS ==" >&2
  for job in "${JOBS[@]}"; do
    label=${job%%|*}; rest=${job#*|}; py=${rest%%|*}; args=${rest#*|}
    [[ "$label" =~ $ONLY ]] || continue
    # shellcheck disable=SC2086
    $PY3 "$BENCH_DIR/harness.py" --out "$OUT" --label "$label" -- "$py" $args ||
      echo "  ($label failed; see $OUT)" >&2
  done
done
$PY3 "$BENCH_DIR/report.py" "$OUT"
