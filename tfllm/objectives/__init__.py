"""tfllm.objectives: training losses, looked up by name.

An objective is a callable `objective(model, batch, training=True) -> (loss, metrics)`
(see docs/ARCHITECTURE.md). `get_objective(name, **options)` builds one by name.

Adding one: create a module in this package and decorate its factory (a class or a
function returning the callable) with `@tfllm.objectives.registry.register("name")`.
Every module of the package is imported here, so registration needs no other edit.
"""

import importlib
import pkgutil

from tfllm.objectives.registry import OBJECTIVES, get_objective, register

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["OBJECTIVES", "get_objective", "register"]
