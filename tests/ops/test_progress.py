"""Progress: bars on a terminal, one structured log line per step and item otherwise."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import time

from rich.console import Console

from reconcile.ops.progress import BarSteps, LogSteps, Steps


def _work(steps: Steps) -> None:
    with steps.step("读取文件", total=2) as advance:
        advance("channels/链家/a.xlsx")
        advance("visits/b.xlsx")
    with steps.step("判定客户归属"):
        pass


def test_log_steps_write_one_line_per_step_and_item(caplog):
    caplog.set_level(logging.INFO, logger="reconcile.test")
    _work(LogSteps(logging.getLogger("reconcile.test")))
    messages = [record.getMessage() for record in caplog.records]
    assert messages[:3] == [
        "step.start name=读取文件 total=2",
        "step.item name=读取文件 n=1/2 item=channels/链家/a.xlsx",
        "step.item name=读取文件 n=2/2 item=visits/b.xlsx",
    ]
    assert messages[3].startswith("step.done name=读取文件 seconds=")
    # and how large the process has grown so far (Linux and macOS say)
    assert int(messages[3].split("peak_mib=")[1]) > 10
    assert messages[4] == "step.start name=判定客户归属"


def test_a_step_says_the_cpu_it_used_its_waited_children_included(caplog):
    """`cpu=` against `seconds=` says how many cores a step kept busy: here a fifth of a
    second of this process's CPU and a fifth of a child's it waited for."""
    caplog.set_level(logging.INFO, logger="reconcile.test")
    burn = "import time\nwhile time.process_time() < 0.2: pass\n"
    with LogSteps(logging.getLogger("reconcile.test")).step("生成日报"):
        subprocess.run([sys.executable, "-c", burn], check=True)
        start = time.process_time()
        while time.process_time() - start < 0.2:
            pass
    [done] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("step.done")]
    cpu = float(done.split(" cpu=")[1].split()[0])
    # The kernel counts a process's CPU in ticks (10 ms here): a few may be lost on each
    # side. Without the child the step would say about 0.2.
    assert cpu >= 0.35, done


def test_bar_steps_draw_bars_on_a_terminal_and_clear_them():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    _work(BarSteps(console))
    drawn = screen.getvalue()
    assert "读取文件" in drawn and "2/2" in drawn and "判定客户归属" in drawn
    assert "\x1b[" in drawn, "drawn with terminal control sequences, then cleared"


def test_silent_steps_do_nothing(capsys):
    _work(Steps())
    assert capsys.readouterr() == ("", "")


def test_bars_show_a_file_name_as_it_is_not_as_markup():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with BarSteps(console).step("读取文件", total=1) as advance:
        advance("channels/链家/报备[/bold].xlsx")  # rich markup would fail on the tag
    assert "读取文件" in screen.getvalue()
