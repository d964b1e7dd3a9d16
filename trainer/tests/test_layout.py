"""The package's shape: one list of stages, each a function of the run context, no import cycle."""

from __future__ import annotations

import ast
import os
from typing import Dict, Set

from conftest import PACKAGE_ROOT

PACKAGE = os.path.join(PACKAGE_ROOT, "distillery_trainer")


def _module_name(path: str) -> str:
    rel = os.path.relpath(path, PACKAGE_ROOT)[: -len(".py")].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


def _import_graph() -> Dict[str, Set[str]]:
    """Module -> package modules it imports at module level (function-local imports are lazy)."""
    graph: Dict[str, Set[str]] = {}
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            module = _module_name(path)
            package = module if name == "__init__.py" else module.rsplit(".", 1)[0]
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
            targets: Set[str] = set()
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and node.level > 0:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                    if node.module:
                        targets.add(stem)
                    for alias in node.names:
                        # `from . import x` / `from .stages import qat` import modules.
                        if os.path.exists(os.path.join(PACKAGE_ROOT, *f"{stem}.{alias.name}".split(".")) + ".py"):
                            targets.add(f"{stem}.{alias.name}")
            graph[module] = {t for t in targets if t != module}
    return graph


def test_the_package_has_no_import_cycle():
    graph = _import_graph()
    assert "distillery_trainer.pipeline" in graph and "distillery_trainer.stages.qat" in graph
    visiting: Set[str] = set()
    done: Set[str] = set()

    def visit(module: str, path: list) -> None:
        if module in done or module not in graph:
            return
        assert module not in visiting, "import cycle: " + " -> ".join(path + [module])
        visiting.add(module)
        for target in sorted(graph[module]):
            visit(target, path + [module])
        visiting.discard(module)
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_one_list_of_stages_each_a_function_of_the_run_context():
    from distillery_trainer.spec import STAGES
    from distillery_trainer.stages import STAGE_FUNCTIONS

    assert list(STAGE_FUNCTIONS) == list(STAGES)
    for name, fn in STAGE_FUNCTIONS.items():
        assert fn.__module__ == f"distillery_trainer.stages.{name}"
        assert list(fn.__code__.co_varnames[: fn.__code__.co_argcount]) == ["ctx"]
