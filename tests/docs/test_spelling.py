"""Names users copy from the documentation are spelled right: Apple's ticker is AAPL."""

from __future__ import annotations

from pathlib import Path

from .conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
             *(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "examples").glob("*.py"),
             ROOT / "rxpusher" / "_demo.py"]


def test_apples_ticker_is_aapl_everywhere_users_read_it() -> None:
    wrong = [str(path.relative_to(ROOT)) for path in DOCUMENTS
             if "APPL" in Path(path).read_text(encoding="utf-8")]
    assert wrong == []
