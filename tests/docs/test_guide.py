"""The guide and README match the code: every option of ``Pusher`` is in the guide's table
and in the API reference's, with its default, and every name they mention exists."""

from __future__ import annotations

import importlib
import inspect
import re

import rxpusher
from rxpusher import Pusher

from .conftest import ROOT

GUIDE = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

# Defaults written for people: the parameter default in the signature is None.
SPELLED = {"use_tls": "True", "encrypted": "True", "reconnect": "Backoff()",
           "scheduler_maxsize": "10_000", "max_message_size": "10 MiB"}


def parameters() -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(Pusher.__init__).parameters)
    for name in ("self", "key", "unknown"):
        params.pop(name)
    return params


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def option_rows(text: str) -> dict[str, str]:
    """First column's option names -> the default column, from a markdown option table."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith(("`", "``")):
            continue
        names = re.findall(r"`+(\w+)`+", cells[0])
        defaults = [d.strip(" `") for d in cells[1].split(" / ")]
        for i, name in enumerate(names):
            rows[name] = defaults[min(i, len(defaults) - 1)]
    return rows


def test_the_guide_lists_every_option_with_its_default() -> None:
    rows = option_rows(section(GUIDE, "Options"))
    params = parameters()
    assert set(rows) == set(params)
    for name, param in params.items():
        expected = SPELLED.get(name, repr(param.default).replace("'", '"'))
        assert rows[name].startswith(expected), (name, rows[name], expected)


def test_the_api_reference_lists_every_option() -> None:
    rows = option_rows(inspect.getdoc(rxpusher) or "")
    assert set(rows) == set(parameters())


def test_the_guide_has_the_reference_sections() -> None:
    for title in ("Options", "Threading", "Failure behaviour", "Errors", "The command line",
                  "Recording and replay", "Interruptions and health", "Waiting",
                  "Testing your code", "Type checking"):
        assert f"\n## {title}\n" in GUIDE, title


def test_the_errors_table_names_every_exception() -> None:
    errors = section(GUIDE, "Errors")
    for name in rxpusher.__all__:
        obj = getattr(rxpusher, name)
        if inspect.isclass(obj) and issubclass(obj, rxpusher.PusherError):
            assert re.search(rf"\b{name}\b", errors), name


def test_names_the_docs_mention_exist() -> None:
    text = GUIDE + README
    pusher = Pusher("key", auto_connect=False)
    try:
        owners = {"pusher": pusher, "channel": pusher.channel("presence-c"), "user": pusher.user}
        for owner, attr in set(re.findall(r"`(pusher|channel|user)\.(\w+)", text)):
            if attr != "py":  # user.py, the module
                assert hasattr(owners[owner], attr), f"{owner}.{attr}"
    finally:
        pusher.close()
    for dotted in set(re.findall(r"`(rxpusher(?:\.\w+)+)", text)):
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attr in parts[i:]:
                obj = getattr(obj, attr)
            break
