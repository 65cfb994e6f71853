"""The core is pure: no module of ``rxpusher._core`` (nor a module of rxpusher it imports
at run time) imports threads, sockets, clocks, TLS, HTTP or a websocket library, and the
session lock is taken in one place."""

from __future__ import annotations

import ast
import pathlib

import rxpusher

PACKAGE = pathlib.Path(rxpusher.__file__).parent
FORBIDDEN = {"threading", "socket", "select", "selectors", "ssl", "time", "requests",
             "websocket", "websockets", "queue", "asyncio"}


def runtime_imports(path: pathlib.Path) -> set[str]:
    """Absolute module names imported by ``path`` outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.append("")  # "from . import x" in a package names the package itself
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = parts[: len(parts) - child.level]
                    module = ".".join(base + ([child.module] if child.module else []))
                    names.add(module)
                    if not child.module:
                        names.update(f"{module}.{alias.name}" for alias in child.names)
                else:
                    names.add(child.module or "")
            visit(child)

    visit(tree)
    return names


def module_path(name: str) -> pathlib.Path | None:
    """The file of an rxpusher module (not the package itself: importing any of its modules
    runs it, and it is the public facade, which the shell is part of)."""
    parts = name.split(".")
    if parts[0] != "rxpusher" or len(parts) == 1:
        return None
    base = PACKAGE.parent.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def test_the_core_imports_no_io_module_even_indirectly() -> None:
    seen: set[pathlib.Path] = set()
    todo = sorted((PACKAGE / "_core").glob("*.py"))
    offenders: list[str] = []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in runtime_imports(path):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
            found = module_path(name)
            if found is not None and found not in seen:
                todo.append(found)
    assert offenders == []
    assert PACKAGE / "_core" / "core.py" in seen and PACKAGE / "_protocol.py" in seen


def test_the_session_lock_is_taken_in_one_place() -> None:
    source = (PACKAGE / "_session.py").read_text()
    assert source.count("with self._lock") == 1
    assert "self._lock.acquire" not in source


def test_no_class_is_longer_than_500_lines() -> None:
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 500:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.name} ({length} lines)")
    assert long == []
