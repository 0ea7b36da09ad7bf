@echo off
rem Registers the nightly run of project shanhu in Windows Task Scheduler.
rem Run once in an administrator command prompt; it asks for the password of the
rem account the task runs as, so that it also runs when nobody is logged on.
rem Paths: the venv made by "py -m venv D:\reconcile\venv" (a git clone installed with
rem make has .venv\Scripts\reconcile.exe instead), the workspace D:\reconcile\shanhu.
rem /ST is the machine's local time; --as-of yesterday is computed in rules.yaml's
rem timezone. The run logs to <state_dir>\logs\run.log; its exit code is the
rem task's "Last Run Result" (0x0 ok, 0x1 failed or busy, 0x2 configuration error).
rem Guide: docs/deployment.md
schtasks /Create /F /TN "reconcile shanhu" /SC DAILY /ST 02:00 /RU reconcile /RP * /TR "D:\reconcile\venv\Scripts\reconcile.exe run --workspace D:\reconcile\shanhu --as-of yesterday"
