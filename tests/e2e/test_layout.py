"""The package's shape: imports point one way (down), SQL stays in db/, no import circles."""

from __future__ import annotations

import ast

import pytest
from paths import ROOT

PACKAGE = ROOT / "gateway"

# The pure core: data in, data out. It may use the plain modules at the bottom and each other.
CORE = {"mail", "routing", "deadlines", "closedloop", "outgoing", "reports", "alerts"}
EDGES = {"db", "sources", "outbox", "credentials"}
ABOVE_CORE = {"usecases", "runtime", "cli", *EDGES, "config"}
# What each part must never import: anything above it, and for the core any I/O library.
FORBIDDEN: dict[str, set[str]] = {
    **{part: ABOVE_CORE for part in CORE},
    "db": {"usecases", "runtime", "cli", "sources", "outbox", *CORE},
    "sources": {"usecases", "runtime", "cli", "outbox", *CORE},
    "outbox": {"usecases", "runtime", "cli", "sources", *CORE},
    "credentials": {"usecases", "runtime", "cli", "sources", "outbox", "db", *CORE},
    "usecases": {"runtime", "cli", "sources", "outbox"},
    "runtime": {"cli"},
    "model": {"*"},
    "errors": {"*"},
}
IO_LIBRARIES = ("sqlalchemy", "imapclient", "aiosmtplib", "aiosmtpd", "socket", "smtplib",
                "imaplib", "urllib.request", "http.client", "asyncio", "schedule", "alembic",
                "subprocess")


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"))
    return found


MODULES = _modules()


def _imports(name: str, tree: ast.Module) -> set[str]:
    """Every module name this module imports, TYPE_CHECKING blocks and late imports included."""
    out = set()
    package = name.split(".") if name in _PACKAGES else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES)
    return out


_PACKAGES = {n for n in MODULES if (PACKAGE.parent / n.replace(".", "/") / "__init__.py").exists()}


def _part(module: str) -> str:
    """gateway.routing.route → routing; gateway.model → model."""
    return module.split(".")[1] if module.count(".") else ""


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    part = _part(name)
    forbidden = FORBIDDEN.get(part, set())
    wrong = []
    for target in _imports(name, MODULES[name]):
        if target.startswith("gateway."):
            other = _part(target)
            if other != part and ("*" in forbidden or other in forbidden):
                wrong.append(target)
        elif part in CORE and any(target == lib or target.startswith(lib + ".")
                                  for lib in IO_LIBRARIES):
            wrong.append(target)
    assert not wrong, f"{name} imports {sorted(wrong)}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_sql_is_written_only_in_db(name):
    if _part(name) == "db":
        return
    for node in ast.walk(MODULES[name]):
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("sqlalchemy") for a in node.names), name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            # A use case may name the Session type in a signature, nothing else.
            assert _part(name) == "usecases" and {a.name for a in node.names} == {"Session"}, (
                f"{name} imports {[a.name for a in node.names]} from {node.module}")


def test_no_import_circle():
    graph = {n: {t for t in _imports(n, tree) if t in MODULES and t != n}
             for n, tree in MODULES.items()}
    # A package's __init__ is not an edge of its children's circle unless it imports them.
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            circle = visit(start)
            assert circle is None, " → ".join(circle)


def test_the_readme_names_every_module():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))
               if "migrations" not in p.parts and p.name not in ("__init__.py", "__main__.py")
               and p.name not in layout]
    assert not missing, f"README's layout section does not name {missing}"
