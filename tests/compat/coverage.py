"""How much of the PyTorch API programs use chainrule covers: ``python -m tests.compat.coverage``.

Walks the curated names (``chainrule._torch_names``): a name is *present* when chainrule has it,
and *accepted* when, in addition, chainrule accepts every call PyTorch's signature allows
(``tests/compat/signatures.py`` says how signatures are compared). ``make test`` prints the
summary line; this module prints the whole report: the figure per group, every missing name,
every signature difference.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from chainrule._torch_names import GROUPS, OUT_OF_SCOPE

from .signatures import chainrule_signature, problems, torch_signatures

_MISSING = object()


def resolve(root, path: str):
    obj = root
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return _MISSING
        except Exception:  # a lazily imported module whose import fails counts as missing
            return _MISSING
    return obj


@dataclass
class Entry:
    path: str
    present: bool
    differences: list[str] = field(default_factory=list)
    checked: bool = False  # both signatures known and compared


def check(path: str, torch_mod, cr_mod) -> Entry:
    ours = resolve(cr_mod, path)
    theirs = resolve(torch_mod, path)
    if theirs is _MISSING:
        raise LookupError(f"torch.{path} does not exist: fix the curated list")
    if ours is _MISSING:
        return Entry(path, False)
    is_method = path.startswith("Tensor.")
    if isinstance(theirs, property) or not callable(theirs) or not callable(ours):
        return Entry(path, True)
    overloads = torch_signatures(theirs, path.rsplit(".", 1)[-1], is_method)
    mine = chainrule_signature(ours, is_method)
    if overloads is None or mine is None:
        return Entry(path, True)
    return Entry(path, True, problems(overloads, mine), checked=True)


def report() -> dict[str, list[Entry]]:
    torch_mod = importlib.import_module("torch")
    cr_mod = importlib.import_module("chainrule")
    importlib.import_module("chainrule.utils.data")
    return {group: [check(prefix + name, torch_mod, cr_mod) for name in names]
            for group, (prefix, names) in GROUPS.items()}


def summary(entries: dict[str, list[Entry]]) -> str:
    total = sum(len(v) for v in entries.values())
    present = sum(e.present for v in entries.values() for e in v)
    accepted = sum(e.present and not e.differences for v in entries.values() for e in v)
    groups = ", ".join(f"{g} {sum(e.present and not e.differences for e in v)}/{len(v)}"
                       for g, v in entries.items())
    return (f"PyTorch API coverage: {accepted}/{total} names with PyTorch's signature "
            f"({100 * accepted / total:.0f}%), {present}/{total} present ({groups}); "
            f"{len(OUT_OF_SCOPE)} out of scope")


def main() -> None:
    entries = report()
    for group, items in entries.items():
        missing = [e.path for e in items if not e.present]
        differ = [e for e in items if e.present and e.differences]
        print(f"\n== {group}: {len(items) - len(missing) - len(differ)}/{len(items)} accepted")
        if missing:
            print("missing: " + " ".join(missing))
        for e in differ:
            print(f"signature differs: {e.path}: " + "; ".join(e.differences))
    print("\nout of scope:")
    for name, reason in OUT_OF_SCOPE.items():
        print(f"  torch.{name}: {reason}")
    print("\n" + summary(entries))


if __name__ == "__main__":
    main()
