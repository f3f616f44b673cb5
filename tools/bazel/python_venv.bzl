"""A Python toolchain whose interpreter is the project's virtual environment.

Third-party packages (tensorflow, keras, tf-agents, ...) are installed by uv into
.venv/, not declared as Bazel repositories: every py_binary / py_test runs with the
venv's python, which sees them. The path is absolute but never written in the
repository: it is $TFLLM_PYTHON when set (tools/bazel_test.sh passes
--repo_env=TFLLM_PYTHON=...), else <workspace root>/.venv/bin/python.
"""

def _python_venv_impl(rctx):
    python = rctx.os.environ.get("TFLLM_PYTHON", "")
    if not python:
        root = rctx.path(Label("@//:WORKSPACE")).dirname
        python = "%s/.venv/bin/python" % root
    if not python.startswith("/"):
        fail("TFLLM_PYTHON must be an absolute path, got %r" % python)
    if not rctx.path(python).exists:
        print("WARNING: %s does not exist (run `make setup` first)" % python)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD", """\
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

package(default_visibility = ["//visibility:public"])

py_runtime(
    name = "venv_python3",
    interpreter_path = "{python}",
    python_version = "PY3",
    # The launcher stub itself also runs with the venv python: a test's PATH
    # (/bin:/usr/bin) may have no python3 at all.
    stub_shebang = "#!{python}",
)

py_runtime_pair(
    name = "venv_runtime_pair",
    py3_runtime = ":venv_python3",
)

toolchain(
    name = "toolchain",
    toolchain = ":venv_runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
""".format(python = python))

python_venv = repository_rule(
    implementation = _python_venv_impl,
    environ = ["TFLLM_PYTHON"],
    local = True,
)
