import pytest

from reconcile.config.rules import Rules, RulesError, parse_duration, parse_rules


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


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(RulesError, match="第 2 行"):
        parse_rules("project: x\nreport: [unclosed\n")


def test_smtp_takes_one_tls_mode():
    text = "notify:\n  smtp:\n    host: mail.example.com\n    ssl: true\n    starttls: true\n"
    with pytest.raises(RulesError, match="notify.smtp.*只能选一个"):
        parse_rules(text)
    smtp = parse_rules(text.replace("    starttls: true\n", "")).notify.smtp
    assert smtp is not None and smtp.ssl and not smtp.starttls
