"""The parts of the Jupyter kit (rxpusher.notebook) that need the ``notebook`` extra: the
DataFrame of a rolling window, the matplotlib chart, and the display redrawn in place in a
real kernel (nbclient, no browser). The rest is in tests/unit/test_notebook.py."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import matplotlib
import nbclient
import nbformat
import pandas as pd
import pytest
from matplotlib.figure import Figure
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from rxpusher.notebook import RollingFrame, live_chart, live_table

from .test_notebooks import KERNEL, kernel_env  # noqa: F401 - the fixture is used by name

matplotlib.use("Agg")


def test_frame_is_a_snapshot_of_the_window_indexed_as_asked() -> None:
    clock = TestScheduler()
    source: Subject[Any] = Subject()
    rolling = RollingFrame(source, seconds=2.0, clock=clock, time_column="t", index="t")
    for at, price in ((1.0, 10.0), (2.0, 11.0), (3.5, 12.0)):
        clock.schedule_absolute(at, lambda *_, p=price: source.on_next({"price": p}))
    clock.advance_to(3.5)
    frame = rolling.frame
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == [2.0, 3.5] and list(frame["price"]) == [11.0, 12.0]
    source.on_next({"price": 13.0})
    assert len(frame) == 2 and len(rolling.frame) == 3     # the snapshot does not change
    assert RollingFrame(Subject(), rows=1).frame.empty


def test_live_table_shows_the_tail_of_the_latest_window() -> None:
    clock = TestScheduler()
    source: Subject[Any] = Subject()
    shown: list[pd.DataFrame] = []
    rolling = RollingFrame(source, rows=100)
    table = live_table(rolling, tail=3, output=shown.append, scheduler=clock)
    for i in range(1_000):
        source.on_next({"i": i})
    clock.advance_by(1.0)
    assert table.redraws == 1 and list(shown[-1]["i"]) == [997, 998, 999]


def test_live_chart_redraws_one_figure_with_the_plot_function() -> None:
    clock = TestScheduler()
    source: Subject[Any] = Subject()
    shown: list[Figure] = []
    rolling = RollingFrame(source, rows=50)

    def plot(frame: pd.DataFrame, ax: Any) -> None:
        ax.plot(frame["x"], frame["y"], label="y")

    chart = live_chart(rolling, plot, interval=0.5, output=shown.append, scheduler=clock)
    for x in range(200):
        clock.schedule_absolute(x / 100, lambda *_, x=x: source.on_next({"x": x, "y": x * x}))
    clock.advance_to(3.0)
    assert 3 <= chart.redraws <= 6 and len({id(f) for f in shown}) == 1
    (line,) = shown[-1].axes[0].get_lines()                # cleared between redraws
    assert list(line.get_xdata()) == list(range(150, 200))


NOTEBOOK_CELL = """
import asyncio
from reactivex.subject import Subject
from rxpusher.notebook import RollingFrame, live_table, wait_until

source = Subject()
rolling = RollingFrame(source, rows=5)
table = live_table(rolling, tail=1, interval=0.2)   # on the kernel's loop
for i in range(10_000):
    source.on_next({"i": i})
await wait_until(lambda: table.redraws >= 1 and not table.pending)
print("redraws", table.redraws, "updates", table.updates)
"""


def test_in_a_kernel_a_burst_is_redrawn_in_place_ending_on_the_last_item(
        kernel_env: dict[str, str], repo_env: dict[str, str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**repo_env, **kernel_env}.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_CELL)])
    nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=60).execute()
    outputs = notebook.cells[0].outputs
    tables = [o for o in outputs if o.output_type == "display_data"]
    assert len(tables) == 1, outputs                   # one display, updated in place
    assert "9999" in tables[0].data["text/html"]      # ... showing the last item
    (printed,) = [o.text for o in outputs if o.output_type == "stream"]
    redraws = int(printed.split()[1])
    assert 1 <= redraws <= 3 and "updates 10001" in printed, printed


def test_displays_outside_a_kernel_fall_back_to_plain_output(tmp_path) -> None:
    """Plain ``python`` with IPython installed: ``display(..., display_id=True)`` returns
    None there, and every redraw of status_line/live_table/live_chart threw from a timer
    thread. They print their text instead, each new drawing once."""
    feed = tmp_path / "feed.jsonl"
    frames = [json.dumps({"event": "tick", "channel": "c", "data": json.dumps({"n": n})})
              for n in range(3)]
    feed.write_text("".join(json.dumps({"t": 0, "frame": f}) + "\n" for f in frames))
    code = f"""
import threading, sys
import rxpusher
from rxpusher.notebook import RollingFrame, live_chart, live_table, status_line
from rxpusher.testing import wait_until
failures = []
threading.excepthook = lambda args: failures.append(args.exc_value)
class Tee:
    text = ""
    def write(self, s):
        self.text += s
        return sys.__stdout__.write(s)
    def flush(self):
        sys.__stdout__.flush()
sys.stdout = tee = Tee()
p = rxpusher.replay({str(feed)!r}, speed=None)
rolling = RollingFrame(p.channel("c").events("tick"), rows=10)
table = live_table(rolling, interval=0.01)
chart = live_chart(rolling, interval=0.01)
status = status_line(p, interval=0.05)
for display in (table, chart):
    wait_until(lambda: len(rolling) == 3 and display.redraws >= 1 and not display.pending)
wait_until(lambda: status.redraws >= 1)
wait_until(lambda: "2  2" in tee.text and "live chart" in tee.text and "1 channel" in tee.text)
table.dispose(); chart.dispose(); status.dispose(); p.close()
print("failures:", failures)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "failures: []" in done.stdout
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "(waiting for data)" in out  # the placeholder, then the drawings
    assert "   n\n0  0\n1  1\n2  2\n" in out  # the table, printed once it changed
    assert out.count("a live chart is drawn in a notebook only") == 1  # said once
    assert "1 channel: c" in out  # the status line
