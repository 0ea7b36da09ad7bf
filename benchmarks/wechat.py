"""WeChat message benchmark: messages read per second against the same reports as a CSV.

Writes N messages as a chat export (a mix of the documented shapes: labelled messages under
a sender/timestamp line, 临报 one-liners, two customers in one line) and the same reports as
a CSV of the report template's columns, then measures in this one process, best of
`--repeat`:
  (a) polars.read_csv of the CSV (the floor: a plain table read by Rust),
  (b) the message reader (reconcile/ingest/wechat.py): decode, split, parse, raw sheet,
  (c) the full ingest of each file (read + header/kind + normalise), messages and CSV.
Prints messages/s and the ratios (b)/(a) and (c) messages / (c) CSV.

    python benchmarks/wechat.py [--messages 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from reconcile.config.rules import Rules
from reconcile.ingest.files import InputFile, read_input
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.limits import Bounds
from reconcile.ingest.wechat import read_message_file

SURNAMES = "张王李赵刘陈杨黄周吴"
GIVEN = "明华伟芳娜静强磊军洋勇艳杰涛超"
COMPANIES = ("链家", "正盛", "房友", "易居")


def _generate(count: int, seed: int = 7) -> tuple[str, str]:
    """(chat export text, CSV text) holding the same reports."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, 9, 0)
    chat: list[str] = []
    rows = ["客户姓名,客户电话,报备时间,经纪人,渠道"]
    for index in range(count):
        at = start + timedelta(minutes=7 * index)
        agent = rng.choice(SURNAMES) + rng.choice(GIVEN)
        company = rng.choice(COMPANIES)
        people = [
            (
                rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                f"1{rng.choice('3589')}{rng.randrange(10)}****{rng.randrange(10_000):04d}",
            )
            for _ in range(2 if index % 5 == 4 else 1)
        ]
        shape = index % 5
        header = f"{agent}  {at:%Y-%m-%d %H:%M}"
        if shape in (0, 1):
            name, phone = people[0]
            chat += [header, f"客户姓名：{name}", f"客户电话：{phone}", f"公司：{company}", ""]
        elif shape == 2:
            name, phone = people[0]
            chat += [header, f"客户：{name} 电话：{phone} 经纪人：{agent} 公司：{company}", ""]
        elif shape == 3:
            name, phone = people[0]
            chat += [header, f"{name}{phone}{company}{at:%H:%M}", ""]
        else:
            chat += [header, " ".join(n + p for n, p in people) + f" {company}", ""]
        rows += [f"{n},{p},{at:%Y-%m-%d %H:%M},{agent},{company}" for n, p in people]
    return "\n".join(chat), "\n".join(rows) + "\n"


def _best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rules = Rules(project="山湖一号")
    aliases = AliasTable.build(rules.columns)
    bounds = Bounds.of(rules.limits)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "inputs" / "channels" / "链家"
        folder.mkdir(parents=True)
        chat_text, csv_text = _generate(args.messages)
        chat = folder / "群聊.txt"
        chat.write_text(chat_text, encoding="utf-8")
        table = folder / "报备.csv"
        table.write_text(csv_text, encoding="utf-8")
        reports = csv_text.count("\n") - 1

        def read_csv() -> pl.DataFrame:
            return pl.read_csv(table, infer_schema=False)

        def read_messages() -> object:
            return read_message_file(chat, bounds, rules.project)

        def ingest(path: Path) -> Callable[[], object]:
            item = InputFile(path, f"channels/链家/{path.name}", "channels", "链家")
            return lambda: read_input(item, rules, aliases)

        sheet = read_messages()
        assert sheet is not None and sheet.frame.height - 1 == reports, "every report read"
        csv_s = _best(args.repeat, read_csv)
        messages_s = _best(args.repeat, read_messages)
        full_messages_s = _best(args.repeat, ingest(chat))
        full_csv_s = _best(args.repeat, ingest(table))

    size = len(chat_text.encode("utf-8"))
    print(f"{args.messages:,} messages ({reports:,} reports, {size / 2**20:.1f} MB of text)")
    print(f"  (a) polars.read_csv, same reports:  {csv_s:8.3f} s  {reports / csv_s:12,.0f} rows/s")
    print(
        f"  (b) message reader:                 {messages_s:8.3f} s  "
        f"{args.messages / messages_s:12,.0f} messages/s"
    )
    print(f"      ratio (b)/(a): {messages_s / csv_s:,.1f}× the time of a plain CSV read")
    print(
        f"  (c) full ingest, messages:          {full_messages_s:8.3f} s  "
        f"{args.messages / full_messages_s:12,.0f} messages/s"
    )
    print(f"      full ingest, CSV:               {full_csv_s:8.3f} s")
    print(f"      ratio: {full_messages_s / full_csv_s:,.1f}× the CSV's full ingest")


if __name__ == "__main__":
    main()
