import pytest

from reconcile.config.rules import Rules, RulesError, parse_duration, parse_rules, type_named


def test_empty_file_gives_every_default():
    rules = parse_rules("")
    assert rules == Rules()
    assert rules.timezone == "Asia/Shanghai"
    assert rules.report.lead_time.minutes == 30
    assert rules.report.validity.unit == "d" and rules.report.validity.amount == 30
    assert rules.visit.renewal.window.amount == 7
    assert rules.conflict.order == ["first_visit", "first_report"]
    assert rules.commission.default.rate == 0.01
    assert rules.state_dir == ".reconcile"


@pytest.mark.parametrize(
    ("text", "amount", "unit", "minutes"),
    [
        ("30m", 30, "m", 30),
        ("1h", 1, "h", 60),
        ("48h", 48, "h", 2880),
        ("7d", 7, "d", None),
        ("2mo", 2, "mo", None),
        ("same_day", 1, "d", None),
        ("next_day", 2, "d", None),
        ("forever", 0, "forever", None),
    ],
)
def test_durations(text, amount, unit, minutes):
    duration = parse_duration(text)
    assert (duration.amount, duration.unit, duration.minutes) == (amount, unit, minutes)
    assert str(duration) == text


@pytest.mark.parametrize("text", ["30", "1 week", "-1d", "d", "", "7days"])
def test_bad_durations_are_rejected(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_project_states_only_what_differs():
    rules = parse_rules(
        "project: 山湖一号\n"
        "report:\n"
        '  hours: {start: "08:00", end: "18:00"}\n'
        "  lead_time: 1h\n"
        "  validity: 48h\n"
        "existing_customer:\n"
        "  released_after: 14d\n"
        "columns:\n"
        "  phone: [客户手机]\n"
    )
    assert rules.project == "山湖一号"
    assert rules.report.hours.start.hour == 8 and rules.report.hours.end.hour == 18
    assert rules.report.lead_time.minutes == 60
    assert rules.report.require_surname is True
    assert rules.existing_customer.released_after.amount == 14
    assert rules.columns == {"phone": ["客户手机"]}


def test_unquoted_clock_times_are_understood():
    rules = parse_rules("report:\n  hours: {start: 08:00, end: 18:00}\n")
    assert rules.report.hours.end.hour == 18


def test_report_types_and_priority():
    rules = parse_rules(
        "report:\n"
        "  types:\n"
        '    预报备: {window: {start: "18:00", end: "21:00", day: before}, validity: next_day,'
        " quota: {per: channel, limit: 10000}}\n"
        "    临报: {lead_time: 30m, validity: same_day, quota: {per: channel, limit: 30}}\n"
        "  type_priority: [预报备, 临报]\n"
    )
    assert rules.report.types["预报备"].window.day == "before"
    assert rules.report.types["临报"].quota.limit == 30


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("project: x\nreport:\n  lead_tme: 1h\n", 3, "report.lead_tme", "未知的配置项"),
        ("project: x\nreport:\n  lead_time: 1 hour\n", 3, "report.lead_time", "时长格式不对"),
        (
            "visit:\n  protection: 30d\nconflict:\n  natural_visit: whoever\n",
            4,
            "conflict.natural_visit",
            "natural",
        ),
        ("timezone: Mars/Base\n", 1, "timezone", "未知时区"),
        ("columns:\n  telephone: [手机]\n", 1, "columns", "字段名未知"),
        (
            "commission:\n  channels:\n    链家: {rate: 0.01, fixed: 300}\n",
            3,
            "commission.channels.链家",
            "rate",
        ),
        ("report:\n  type_priority: [夜报]\n", 1, "report", "夜报"),
        ("opening_date: 2026-13-01\n", 1, "opening_date", "首开日期"),
    ],
)
def test_errors_name_the_key_and_the_line(text, line, key, words):
    with pytest.raises(RulesError) as error:
        parse_rules(text)
    message = str(error.value)
    assert f"第 {line} 行" in message
    assert key in message
    assert words in message


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        # Values the judge could not use: each was accepted before and crashed or misjudged.
        ("conflict:\n  upheld_split: [1.0]\n", 2, "conflict.upheld_split", "两个正数"),
        ("conflict:\n  upheld_split: [0.2, 0.3, 0.5]\n", 2, "conflict.upheld_split", "两个正数"),
        ("conflict:\n  upheld_split: [0.6, 0.6]\n", 2, "conflict.upheld_split", "合计为 1"),
        ("conflict:\n  upheld_split: [1, 0]\n", 2, "conflict.upheld_split", "正数"),
        ("conflict:\n  upheld_split: [.nan, .nan]\n", 2, "conflict.upheld_split.0", "有限"),
        ("conflict:\n  order: []\n", 2, "conflict.order", "first_visit"),
        ("conflict:\n  order: [first_report, first_report]\n", 2, "conflict.order", "各一次"),
        ("commission:\n  default: {fixed: .inf}\n", 2, "commission.default.fixed", "有限"),
        ("commission:\n  default: {rate: 1.2}\n", 2, "commission.default.rate", "不大于 1"),
        ("limits:\n  memory_gb: .inf\n", 2, "limits.memory_gb", "有限"),
        ("schedule:\n  settle: .inf\n", 2, "schedule.settle", "有限"),
        ("report:\n  validity: 0d\n", 2, "report.validity", "至少为 1d"),
        ("report:\n  validity: 0m\n", 2, "report.validity", "须大于 0"),
        ("visit:\n  protection: 0h\n", 2, "visit.protection", "须大于 0"),
        ("visit:\n  renewal: {window: 0m, extend: 30d}\n", 2, "visit.renewal.window", "大于 0"),
        ("visit:\n  renewal: {window: 7d, extend: 0mo}\n", 2, "visit.renewal.extend", "1mo"),
        ("existing_customer:\n  released_after: 0m\n", 2, "existing_customer.released_after", "0"),
        ("report:\n  validity_before_opening: 0m\n", 2, "report.validity_before_opening", "0"),
        ("report:\n  lead_time: forever\n", 2, "report.lead_time", "forever"),
        (
            "report:\n  types:\n    临报: {lead_time: forever}\n",
            3,
            "report.types.临报.lead_time",
            "forever",
        ),
        ("visit:\n  simultaneous_within: forever\n", 2, "visit.simultaneous_within", "forever"),
        ("report:\n  max_delay: 0d\n", 2, "report.max_delay", "至少为 1d"),
        ("report:\n  validity: 36700d\n", 2, "report.validity", "100 年"),
        ("conflict:\n  appeal_window: 9999999h\n", 2, "conflict.appeal_window", "100 年"),
        # A number is not a clock time: 8 would have read as 00:08.
        ('report:\n  hours: {start: 8, end: "18:00"}\n', 2, "report.hours.start", "08:00"),
        ("schedule:\n  at: 24:00\n", 2, "schedule.at", "24:00"),
        ("report:\n  hours: {start: 09:00, end: 09:00}\n", 2, "report.hours", "相同"),
        (
            "report:\n  types:\n    夜报:\n      window: {start: 18:00, end: 21:00}\n"
            "      hours: {start: 08:00, end: 18:00}\n",
            3,
            "report.types.夜报",
            "只能写一个",
        ),
        ("report:\n  types:\n    ' ': {validity: same_day}\n", 2, "report.types", "不能为空"),
        ("timezone: localtime\n", 1, "timezone", "未知时区"),
        ("timezone: posixrules\n", 1, "timezone", "未知时区"),
        (
            "channels:\n  链家: [链家地产, 我爱我家]\n  我爱我家: [5i5j]\n",
            1,
            "channels",
            "另一个渠道",
        ),
        ("channels:\n  链家: [链家地产, '']\n", 1, "channels", "空白"),
        ("columns:\n  phone: [电话]\n  agent_phone: [电话]\n", 1, "columns", "同时属于"),
        (
            "channels:\n  链家: [链家地产]\ncommission:\n  channels:\n    链家地产: {rate: 0.02}\n",
            5,
            "commission.channels.链家地产",
            "请写“链家”",
        ),
        # pydantic's own checks, in Chinese.
        ("deal:\n  commission_stage: 交房\n", 2, "deal.commission_stage", "'认购'、'签约'"),
        ("report:\n  quota: {per: agent, limit: 0}\n", 2, "report.quota.limit", "不小于 1"),
        ("report:\n  quota: {per: agent}\n", 2, "report.quota.limit", "缺少此项"),
        ("project: 123\n", 1, "project", "应为文字"),
        ("archive: maybe\n", 1, "archive", "true 或 false"),
        ("notify:\n  admin: a@x.cn\n", 2, "notify.admin", "应为列表"),
    ],
)
def test_values_the_night_cannot_use_are_errors(text, line, key, words):
    with pytest.raises(RulesError) as error:
        parse_rules(text)
    message = str(error.value)
    assert f"第 {line} 行 {key}:" in message
    assert words in message
    assert "Input should" not in message


@pytest.mark.parametrize(
    ("text", "check"),
    [
        # Unquoted clock times stay clock times (no longer via YAML 1.1's base 60).
        (
            "report:\n  hours: {start: 8:00, end: 18:30}\n",
            lambda r: r.report.hours.end.minute == 30,
        ),
        (
            "report:\n  hours: {start: 22:00, end: 02:00}\n",
            lambda r: r.report.hours.start.hour == 22 and r.report.hours.end.hour == 2,
        ),
        ("schedule:\n  at: 2:00\n", lambda r: r.schedule.at.hour == 2),
        # Zero where zero means "none" (a clock span), `forever` where it means "never ends".
        ("report:\n  lead_time: 0m\n", lambda r: r.report.lead_time.minutes == 0),
        ("conflict:\n  appeal_window: 0m\n", lambda r: r.conflict.appeal_window.minutes == 0),
        ("conflict:\n  appeal_window: forever\n", lambda r: r.conflict.appeal_window.forever),
        ("conflict:\n  min_gap: forever\n", lambda r: r.conflict.min_gap.forever),
        ("visit:\n  simultaneous_within: 0m\n", lambda r: r.visit.simultaneous_within.minutes == 0),
        ("visit:\n  renewal: {window: forever, extend: forever}\n", lambda r: r.visit.renewal),
        ("visit:\n  renewal: null\n", lambda r: r.visit.renewal is None),
        ("report:\n  validity: 36500d\n", lambda r: r.report.validity.amount == 36500),
        (
            "conflict:\n  upheld_split: [0.7, 0.3]\n",
            lambda r: r.conflict.upheld_split == [0.7, 0.3],
        ),
        ("conflict:\n  order: [first_report]\n", lambda r: r.conflict.order == ["first_report"]),
        ("commission:\n  default: {rate: 0}\n", lambda r: r.commission.default.rate == 0),
        ("timezone: America/New_York\n", lambda r: r.zone.key == "America/New_York"),
        (
            "channels:\n  链家: [链家, 链家地产]\n"
            "commission:\n  channels:\n    链家: {rate: 0.02}\n",
            lambda r: r.channel_names == (("链家地产", "链家"),),
        ),
    ],
)
def test_edges_that_are_judged_as_written(text, check):
    assert check(parse_rules(text))


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(RulesError, match="第 2 行"):
        parse_rules("project: x\nreport: [unclosed\n")


def test_smtp_takes_one_tls_mode():
    text = "notify:\n  smtp:\n    host: mail.example.com\n    ssl: true\n    starttls: true\n"
    with pytest.raises(RulesError, match="notify.smtp.*只能选一个"):
        parse_rules(text)
    smtp = parse_rules(text.replace("    starttls: true\n", "")).notify.smtp
    assert smtp is not None and smtp.ssl and not smtp.starttls


@pytest.mark.parametrize(
    ("written", "types", "named"),
    [
        ("临报", ("临报", "预报备"), "临报"),
        ("预报", ("临报", "预报备"), "预报备"),  # the project calls it 预报备
        ("预报备", ("预报",), "预报"),  # and the other way round
        ("预报", ("预报", "预报备"), "预报"),  # a name the rules use is kept as written
        ("延期申请", (), "延期"),  # SPEC 6.8's request, whatever the rules
        ("申请延期", ("临报",), "延期"),
        ("延续申请", (), "延续"),
        ("延期", (), "延期"),
        ("加急", ("临报",), "加急"),  # unknown: an untyped report, its text kept
        ("预报", (), "预报"),
    ],
)
def test_a_written_type_is_matched_to_the_name_the_rules_use(written, types, named):
    assert type_named(written, types) == named
