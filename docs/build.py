"""Build the API reference of rxpusher into docs/api/ with pdoc, and check it.

    python docs/build.py                 # -> docs/api/index.html
    python docs/build.py --output /tmp/api --strict

Renders the docstrings of ``rxpusher`` (everything importable from it: ``Pusher``,
``Channel``, ``Event``, the exceptions, ...), ``rxpusher.aio``, ``rxpusher.testing``,
``rxpusher.server``, ``rxpusher.notebook`` and ``rxpusher.bridge``, then checks that every name each module
exports (``__all__``) has its own entry in the generated pages. ``--strict`` also fails on
pdoc warnings and on exported names (and their public methods) without a docstring.
Exit status 0 when the checks pass, 1 otherwise. The HTML is a build artifact: it is
not committed (docs/.gitignore); CI builds it in tests/docs/test_api_docs.py.
Needs ``pip install "pdoc>=16,<17"``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import warnings
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# The modules of the reference; every name each one exports must have an entry. (pdoc does
# not walk into submodules a package's ``__all__`` does not list, so they are named here.)
MODULES = ["rxpusher", "rxpusher.aio", "rxpusher.testing", "rxpusher.server", "rxpusher.notebook",
           "rxpusher.bridge"]
REQUIRED_MODULES = MODULES


def exported(module: ModuleType) -> list[str]:
    """The public names of a module: its ``__all__``, else what does not start with _."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return [n for n in names if not (n.startswith("__") and n.endswith("__"))]


def page(output: Path, module_name: str) -> Path:
    """Where pdoc writes the page of ``module_name``."""
    return output.joinpath(*module_name.split(".")).with_suffix(".html")


def missing_docstrings(module: ModuleType) -> list[str]:
    """Exported names, and public methods of exported classes, that have no docstring."""
    problems = []
    for name in exported(module):
        obj = getattr(module, name, None)
        if obj is None or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not inspect.getdoc(obj):
            problems.append(f"{module.__name__}.{name}")
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                    continue
                if not inspect.getdoc(member):
                    problems.append(f"{module.__name__}.{name}.{attr}")
    return problems


def build(output: Path, strict: bool = False) -> list[str]:
    """Render the reference into ``output``; return the problems found (empty: all good)."""
    import pdoc
    import pdoc.render

    from rxpusher import __version__

    pdoc.render.configure(
        docformat="restructuredtext",
        footer_text=f"rxpusher {__version__}",
        show_source=True,
        search=True,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*MODULES, output_directory=output)
    notes = [f"pdoc: {w.message}" for w in caught]
    problems = list(notes) if strict else []
    for note in notes if not strict else []:
        print("warning:", note)

    for module_name in REQUIRED_MODULES:
        module = importlib.import_module(module_name)
        html_path = page(output, module_name)
        if not html_path.exists():
            problems.append(f"{module_name}: no page {html_path.relative_to(output)}")
            continue
        html = html_path.read_text(encoding="utf-8")
        for name in exported(module):
            if f'id="{name}"' not in html:
                problems.append(f"{module_name}.{name}: not in {html_path.name}")
        if strict:
            problems += [f"{name}: no docstring" for name in missing_docstrings(module)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE / "api", help="default: docs/api")
    parser.add_argument("--strict", action="store_true",
                        help="also fail on pdoc warnings and missing docstrings")
    args = parser.parse_args(argv)
    problems = build(args.output, args.strict)
    pages = sorted(args.output.rglob("*.html"))
    print(f"{len(pages)} pages in {args.output}")
    for problem in problems:
        print("problem:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
