"""Every public Tensor method and property declares its return type (for type checkers)."""

import inspect

from chainrule import Tensor


def _public_functions():
    for name, member in vars(Tensor).items():
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            continue
        func = member.fget if isinstance(member, property) else member
        if isinstance(func, (staticmethod, classmethod)):
            func = func.__func__
        if inspect.isfunction(func):
            yield name, func


def test_every_public_method_and_property_declares_its_return_type():
    names = [name for name, _ in _public_functions()]
    assert {"__add__", "sum", "backward", "shape", "size", "max"} <= set(names)
    missing = [name for name, func in _public_functions() if "return" not in func.__annotations__]
    assert not missing, f"Tensor members without a return annotation: {missing}"
