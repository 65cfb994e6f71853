"""README's set-up commands work as typed, also on an externally managed Python (PEP 668:
Debian, Ubuntu), and README names the extras a user may need."""

from __future__ import annotations

import re

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_the_first_command_installs_into_a_virtualenv() -> None:
    first = shell_blocks()[0].strip()
    assert first == ("python3 -m venv .venv && .venv/bin/pip install '.[server]' "
                     "&& .venv/bin/rxpusher demo")


def test_no_set_up_command_installs_into_the_system_python() -> None:
    for block in shell_blocks():
        for line in block.splitlines():
            assert not re.search(r"(^|&&\s*)(python3? -m )?pip3? install", line.strip()), line


def test_readme_names_every_extra() -> None:
    for extra in ("server", "encryption", "socks", "fast", "notebook", "test"):
        assert f"| `{extra}` |" in README, extra
