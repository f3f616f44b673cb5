#!/usr/bin/env bash
# Run the test suite under Bazel, offline.
#
#   bash tools/bazel_test.sh                       # every py_test (//tests/...)
#   bash tools/bazel_test.sh //tests/layers/...    # only these target patterns
#   bash tools/bazel_test.sh //tests/layers:test_attention --test_output=all
#   bash tools/bazel_test.sh //tests:test_build_coverage //tests/models:test_initialization
#
# Each tests/ directory's BUILD calls tfllm_py_tests() (tools/bazel/defs.bzl): a py_test
# per test file, named after it (tests/models/test_frozen.py is //tests/models:test_frozen).
#
# Arguments starting with // or : are target patterns, anything else is passed to
# `bazel test` as an option. Third-party packages come from the project venv (.venv),
# which is the Python toolchain of every target (see tools/bazel/python_venv.bzl).
# Environment: PYTHON (default python3) to create the venv, BAZEL (default bazel),
# BAZEL_JOBS (default 2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BAZEL="${BAZEL:-bazel}"
VENV_PY="$ROOT/.venv/bin/python"

# 1. Bazel: Debian's bazel-bootstrap (4.2.3) from apt, the only network we need.
if ! command -v "$BAZEL" >/dev/null 2>&1; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "bazel_test.sh: bazel is not installed, and installing it needs root:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y bazel-bootstrap" >&2
    exit 2
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bazel_test.sh: bazel is not installed and there is no apt-get to install" \
      "Debian's bazel-bootstrap; install Bazel 4.2.x yourself" >&2
    exit 2
  fi
  echo "bazel_test.sh: installing bazel-bootstrap with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq bazel-bootstrap >/dev/null
fi

# 2. The venv (make bazel-test already depends on it; this covers direct calls).
if [[ ! -x "$VENV_PY" ]]; then
  echo "bazel_test.sh: no .venv yet; running make setup" >&2
  make setup
fi

# 3. Every module and test file must be covered by a BUILD target: the check needs no
# Bazel (and --noconftest skips the keras import), so a gap fails in seconds.
if ! "$VENV_PY" -m pytest -q --noconftest tests/test_build_coverage.py; then
  echo "bazel_test.sh: the BUILD files do not cover the tree (see the failure above)" >&2
  exit 1
fi

# 4. bazel test, offline: stub repositories stand in for downloads (WORKSPACE).
targets=()
options=()
for arg in "$@"; do
  case "$arg" in
    //* | :* | @*) targets+=("$arg") ;;
    -*) options+=("$arg") ;;
    *) targets+=("$arg") ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=("//tests/...")
fi

start=$(date +%s)
set +e
"$BAZEL" test \
  --repo_env=TFLLM_PYTHON="$VENV_PY" \
  --jobs="${BAZEL_JOBS:-2}" \
  --local_cpu_resources="${BAZEL_JOBS:-2}" \
  --local_test_jobs="${BAZEL_JOBS:-2}" \
  ${options[@]+"${options[@]}"} \
  -- "${targets[@]}"
status=$?
set -e
echo "bazel_test.sh: bazel test took $(($(date +%s) - start)) s (exit $status)" >&2
exit $status
