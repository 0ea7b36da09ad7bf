"""The files in deploy/ work as docs/deployment.md tells an admin to install them.

Each file uses example paths (/opt/reconcile/venv/bin/reconcile, /srv/reconcile/shanhu,
/etc/reconcile/shanhu.env …). The tests swap them for this machine's venv and a demo
workspace in tmp, and then run the lines as they are written:

- the cron line with /bin/sh in cron's minimal environment;
- the units' ExecStart= lines with the environment systemd gives a service.

The units also pass `systemd-analyze verify`, where it is installed. Nothing is
installed into the system: no unit is enabled and no crontab is written.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reconcile.cli.main import build_parser
from reconcile.config.workspace import Workspace
from reconcile.ops.lock import run_lock
from reconcile.ops.pipeline import run
from tests.ops.support import RECONCILE, demo_workspace, text, wait_for
from tests.publish.smtp_server import serve as smtp_server

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOC = ROOT / "docs" / "deployment.md"
UNITS = ("reconcile-serve.service", "reconcile-run.service", "reconcile-run.timer")
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the demo's rules.yaml timezone
# What cron (Debian) gives a job: /bin/sh, HOME and LOGNAME from passwd, this PATH.
CRON_PATH = "/usr/bin:/bin"
# What systemd gives a service (no login shell, no profile).
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SMTP_USER = "reconcile@shanhu.example.com"
# Quoted as reconcile.env.example says; "$", spaces and "#" must reach the program as-is.
SMTP_PASSWORD = "pa$$ w0rd #1"


@dataclass(frozen=True)
class Machine:
    """This machine standing in for the server of the examples."""

    home: Path  # the reconcile user's home
    workspace: Path  # a demo workspace whose files are already complete (settle 0s)
    env_file: Path  # deploy/reconcile.env.example, installed
    log_dir: Path  # /var/log/reconcile
    backups: Path  # /var/backups/reconcile/shanhu

    @property
    def paths(self) -> dict[str, str]:
        """Example path in deploy/ → path here; longest first."""
        return {
            "/var/backups/reconcile/shanhu": str(self.backups),
            "/etc/reconcile/shanhu.env": str(self.env_file),
            "/opt/reconcile/venv/bin": str(Path(RECONCILE).parent),
            "/srv/reconcile/shanhu": str(self.workspace),
            "/var/log/reconcile": str(self.log_dir),
        }

    def localise(self, line: str) -> str:
        for example, here in self.paths.items():
            line = line.replace(example, here)
        # Nothing may still point into the system: the tests never touch it.
        assert not re.search(r"/(opt|srv|etc|var/log|var/backups)/reconcile\b", line), line
        return line

    def night(self) -> Path:
        """The outputs of the night that just ended in Shanghai (`--as-of yesterday`)."""
        return self.workspace / "outputs" / yesterday().isoformat()


def yesterday() -> date:
    return datetime.now(SHANGHAI).date() - timedelta(days=1)


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    home = tmp_path / "home"
    home.mkdir()
    workspace = demo_workspace(tmp_path / "shanhu", extra_rules="schedule:\n  settle: 0s\n")
    env_file = tmp_path / "etc" / "shanhu.env"
    env_file.parent.mkdir()
    shutil.copy(DEPLOY / "reconcile.env.example", env_file)
    env_file.chmod(0o600)
    log_dir, backups = tmp_path / "log", tmp_path / "backups"
    log_dir.mkdir()  # `install -d … /var/log/reconcile /var/backups/reconcile/shanhu`
    backups.mkdir()
    return Machine(home, workspace, env_file, log_dir, backups)


# --- crontab ------------------------------------------------------------------------


@dataclass(frozen=True)
class Crontab:
    env: dict[str, str]  # NAME=value lines
    commands: list[str]  # each job's command, as cron hands it to the shell


def read_crontab(path: Path) -> Crontab:
    env: dict[str, str] = {}
    commands: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assignment = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", line)
        if assignment:
            name, value = assignment.groups()
            env[name] = value.strip().strip("'\"") if value[:1] in "'\"" else value.strip()
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, f"not a crontab job line: {line}"
        commands.append(cron_command(fields[5]))
    return Crontab(env, commands)


def cron_command(command: str) -> str:
    """What cron runs: up to the first unescaped `%` (the rest is stdin), `\\%` → `%`."""
    cut = re.search(r"(?<!\\)%", command)
    assert cut is None, f"an unescaped % would cut the command: {command}"
    return command.replace("\\%", "%")


def cron_run(machine: Machine, command: str, crontab: Crontab) -> subprocess.CompletedProcess:
    """`command` as cron runs it: `sh -c` in an environment with nothing else in it."""
    env = {"HOME": str(machine.home), "LOGNAME": "reconcile", "SHELL": "/bin/sh"}
    env |= {"PATH": CRON_PATH} | crontab.env
    shell = env.get("SHELL", "/bin/sh")
    return subprocess.run(
        [shell, "-c", machine.localise(command)],
        env=env,
        cwd=machine.home,
        capture_output=True,
        text=True,
        timeout=120,
    )


def the_job(crontab: Crontab, word: str) -> str:
    [command] = [c for c in crontab.commands if word in c]
    return command


def with_smtp(workspace: Path, port: int) -> None:
    """The demo's rules.yaml, now sending through a real SMTP server on 127.0.0.1."""
    rules = workspace / "rules.yaml"
    smtp = (
        f"  smtp: {{host: 127.0.0.1, port: {port}, user: {SMTP_USER}, "
        "password_env: RECONCILE_SMTP_PASSWORD}\n"
    )
    current = rules.read_text(encoding="utf-8")
    assert "\nnotify:\n" in current
    rules.write_text(current.replace("\nnotify:\n", "\nnotify:\n" + smtp, 1), encoding="utf-8")


def test_the_cron_line_runs_the_night_that_just_ended_and_mails_with_the_env_password(
    machine: Machine,
):
    crontab = read_crontab(DEPLOY / "crontab.example")
    job = the_job(crontab, " run ")
    assert "--as-of yesterday" in job
    env_text = machine.env_file.read_text(encoding="utf-8")
    assert "='change-me'" in env_text
    machine.env_file.write_text(env_text.replace("change-me", SMTP_PASSWORD), encoding="utf-8")

    with smtp_server(user=SMTP_USER, password=SMTP_PASSWORD) as server:
        with_smtp(machine.workspace, server.port)
        done = cron_run(machine, job, crontab)
        received = list(server.received)

    # A good night prints nothing, so cron mails nothing.
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    night = machine.night()
    assert (night / "reports.csv").is_file() and (night / "settlement.xlsx").is_file()
    log = text(machine.log_dir / "shanhu.log")
    steps = [line for line in log.splitlines() if " INFO reconcile.run step.start name=" in line]
    assert len(steps) >= 4, log
    assert re.match(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00 INFO reconcile\.run step\.start", steps[0]
    )
    assert f" run.ok run=1 as_of={night.name} mode=ingest " in log
    assert f"判定日 {night.name}" in log  # the summary (stdout) is kept as well
    # The password reached the run through `set -a; . env-file`: every mail went out (the
    # dispute report, the settlement, the sales manager's workbook, two agencies' receipts).
    assert len(received) == 5 and {m.login for m in received} == {SMTP_USER}


def test_the_cron_line_reports_a_busy_workspace_in_one_line_for_cron_mail(machine: Machine):
    crontab = read_crontab(DEPLOY / "crontab.example")
    state = Workspace.open(machine.workspace).state_dir
    with run_lock(state, "run", datetime.now(SHANGHAI)):
        done = cron_run(machine, the_job(crontab, " run "), crontab)
    assert done.returncode == 0  # the `|| echo` ran; cron ignores exit codes anyway
    assert re.fullmatch(
        r"reconcile run shanhu failed \(exit 1\), see \S+/shanhu\.log\n", done.stdout
    )
    assert "另一个对账任务正在运行" in text(machine.log_dir / "shanhu.log")
    assert not machine.night().exists()


@pytest.mark.skipif(shutil.which("sqlite3", path=CRON_PATH) is None, reason="no sqlite3 program")
def test_the_backup_line_makes_a_consistent_copy_of_the_ledger(machine: Machine):
    crontab = read_crontab(DEPLOY / "crontab.example")
    workspace = Workspace.open(machine.workspace)
    run(workspace, yesterday())
    done = cron_run(machine, the_job(crontab, ".backup"), crontab)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    today = datetime.now().date()  # `date +%F` in the machine's timezone
    copies = [machine.backups / f"ledger-{day}.sqlite" for day in (today, today - timedelta(1))]
    [copy] = [path for path in copies if path.exists()]
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as backup:
        assert backup.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        runs = backup.execute("SELECT as_of, status FROM runs").fetchall()
    assert runs == [(yesterday().isoformat(), "ok")]


# --- systemd units ------------------------------------------------------------------


def unit_settings(path: Path) -> dict[str, dict[str, str]]:
    """`[Section]` → key → value (the last one wins, as for the keys used here)."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, line
        key, _, value = line.partition("=")
        current[key.strip()] = value.strip()
    return sections


def environment_file(path: Path) -> dict[str, str]:
    """The variables of an EnvironmentFile= in the forms reconcile.env.example uses."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip()[0] in "#;":
            continue
        name, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        env[name.strip()] = value
    return env


def service_env(machine: Machine, service: dict[str, str]) -> dict[str, str]:
    """The environment systemd gives this service: its own PATH, the User='s HOME,
    and the EnvironmentFile= (nothing inherited from whoever ran systemctl)."""
    env = {"PATH": SYSTEMD_PATH, "HOME": str(machine.home), "USER": service["User"]}
    env |= {"LOGNAME": service["User"], "SHELL": "/usr/sbin/nologin"}
    return env | environment_file(Path(machine.localise(service["EnvironmentFile"])))


def test_the_units_say_what_the_guide_says():
    serve = unit_settings(DEPLOY / "reconcile-serve.service")["Service"]
    assert shlex.split(serve["ExecStart"])[1] == "serve"
    assert serve["Type"] == "simple" and serve["Restart"] == "on-failure"
    assert serve["KillSignal"] == "SIGTERM" and serve["TimeoutStopSec"] == "15min"
    oneshot = unit_settings(DEPLOY / "reconcile-run.service")["Service"]
    assert oneshot["Type"] == "oneshot"
    assert shlex.split(oneshot["ExecStart"])[1:2] + shlex.split(oneshot["ExecStart"])[-2:] == [
        "run",
        "--as-of",
        "yesterday",
    ]
    for service in (serve, oneshot):
        assert service["User"] == "reconcile"
        assert service["EnvironmentFile"] == "/etc/reconcile/shanhu.env"
        assert service["WorkingDirectory"] == "/srv/reconcile/shanhu"
    timer = unit_settings(DEPLOY / "reconcile-run.timer")["Timer"]
    assert timer["OnCalendar"] == "*-*-* 02:00:00 Asia/Shanghai"
    assert timer["Persistent"] == "true" and timer["Unit"] == "reconcile-run.service"
    assert environment_file(DEPLOY / "reconcile.env.example") == {
        "RECONCILE_SMTP_PASSWORD": "change-me"
    }


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_units_pass_systemd_analyze_verify(machine: Machine, tmp_path: Path):
    units = tmp_path / "units"
    units.mkdir()
    for name in UNITS:
        # ExecStart= must name an executable that exists here, so the example paths
        # become this venv and the tmp workspace. User=reconcile stays: verify
        # (systemd 252) does not look users up, so it checks the file as shipped.
        source = (DEPLOY / name).read_text(encoding="utf-8")
        (units / name).write_text(machine.localise(source), encoding="utf-8")

    def verify(*names: str) -> tuple[int, list[str]]:
        done = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", *names],
            cwd=units,
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = (done.stdout + done.stderr).splitlines()
        return done.returncode, [line for line in lines if any(n in line for n in names)]

    assert verify(*UNITS) == (0, [])
    # A mistake is reported on a line naming the file, even where verify exits 0:
    # the check above would see one.
    (units / "typo.service").write_text(
        (units / UNITS[0]).read_text(encoding="utf-8").replace("KillSignal=", "KillSignl="),
        encoding="utf-8",
    )
    _, complaints = verify("typo.service")
    assert any("KillSignl" in line for line in complaints), complaints


def test_the_timer_service_runs_the_night_that_just_ended(machine: Machine):
    service = unit_settings(DEPLOY / "reconcile-run.service")["Service"]
    done = subprocess.run(
        shlex.split(machine.localise(service["ExecStart"])),
        env=service_env(machine, service),
        cwd=machine.localise(service["WorkingDirectory"]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (machine.night() / "deals.csv").is_file()
    # What journald keeps: the structured lines on stderr, the summary on stdout.
    assert " INFO reconcile.run step.start name=" in done.stderr
    assert f"判定日 {machine.night().name}" in done.stdout


def test_the_serve_unit_catches_up_and_stops_cleanly_on_its_kill_signal(
    machine: Machine, tmp_path: Path
):
    service = unit_settings(DEPLOY / "reconcile-serve.service")["Service"]
    journal = tmp_path / "journal.log"
    with journal.open("wb") as out:
        process = subprocess.Popen(
            shlex.split(machine.localise(service["ExecStart"])),
            env=service_env(machine, service),
            cwd=machine.localise(service["WorkingDirectory"]),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # Never run before, so it catches up the last scheduled night (02:00 Shanghai).
        now = datetime.now(SHANGHAI)
        last = datetime.combine(now.date(), time(2), SHANGHAI)
        night = (last if last <= now else last - timedelta(days=1)).date() - timedelta(days=1)
        serve_log = machine.workspace / ".reconcile" / "logs" / "serve.log"
        wait_for(lambda: " serve.next " in text(serve_log), timeout=60, what="the catch-up")
        process.send_signal(getattr(signal, service["KillSignal"]))
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert (machine.workspace / "outputs" / night.isoformat() / "reports.csv").is_file()
    assert f" run.ok run=1 as_of={night} " in text(serve_log)
    assert " INFO reconcile.ops.serve serve.start " in text(journal)


# --- Windows ------------------------------------------------------------------------


def test_the_windows_task_is_one_plain_schtasks_line_that_the_cli_accepts():
    raw = (DEPLOY / "windows-task.cmd").read_bytes()
    # cmd.exe reads a batch file in the OEM code page and wants CRLF line ends.
    assert raw.isascii() and raw.count(b"\n") == raw.count(b"\r\n")
    [line] = [x for x in raw.decode().splitlines() if x.lower().startswith("schtasks ")]
    args = shlex.split(line, posix=False)
    options = {args[i].upper(): args[i + 1] for i in range(len(args) - 1) if args[i][0] == "/"}
    assert options["/SC"] == "DAILY" and options["/ST"] == "02:00"
    action = options["/TR"].strip('"')
    assert len(action) <= 261  # schtasks refuses a longer /TR
    program, *argv = action.split()
    assert program.lower().endswith(r"\scripts\reconcile.exe")
    parsed = build_parser().parse_args(argv)
    assert (parsed.command, parsed.as_of, parsed.no_email) == ("run", "yesterday", False)


# --- the guide ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in DEPLOY.iterdir()))
def test_the_guide_quotes_each_deploy_file_verbatim(name: str):
    guide = DOC.read_text(encoding="utf-8")
    content = (DEPLOY / name).read_text(encoding="utf-8").replace("\r\n", "\n").rstrip("\n")
    assert f"`deploy/{name}`" in guide
    assert f"\n{content}\n```" in guide, f"docs/deployment.md does not quote deploy/{name} as it is"
