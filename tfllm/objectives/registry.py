"""The objective registry: names -> factories, filled by `@register` in each objective module."""

import inspect

OBJECTIVES = {}


def register(name):
    """Class/function decorator: makes `get_objective(name, **options)` build it."""
    def decorator(factory):
        if name in OBJECTIVES:
            raise ValueError(f"objective {name!r} is registered twice "
                             f"({OBJECTIVES[name].__module__} and {factory.__module__})")
        OBJECTIVES[name] = factory
        return factory
    return decorator


def get_objective(name, **options):
    """Builds the objective registered as `name` with constructor `options`."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; known objectives: {sorted(OBJECTIVES)}")
    factory = OBJECTIVES[name]
    try:
        inspect.signature(factory).bind(**options)
    except TypeError as error:
        raise ValueError(f"objective {name!r}: bad options {sorted(options)} ({error})") from None
    return factory(**options)
