"""`--help` and usage errors read in Chinese: argparse's own words are translated."""

from __future__ import annotations

import argparse
import re

import pytest

from reconcile.cli.main import build_parser, main

ARGPARSE_WORDS = re.compile(
    r"\b(usage|positional|arguments?|options?|show|help message|exit|error|required|"
    r"invalid|choice|choose|expected|unrecognized|ambiguous|allowed)\b",
    re.IGNORECASE,
)


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": parser, **commands.choices}


def _our_words() -> set[str]:
    """ASCII words the CLI itself supplies: prog, command and option names, our help texts."""
    texts: list[str] = []
    for parser in _parsers().values():
        texts += [parser.prog, parser.description or ""]
        for action in parser._actions:
            texts += [*action.option_strings, action.help or "", str(action.metavar or "")]
            texts += [str(choice) for choice in action.choices or ()]
            texts += [str(a.help) for a in getattr(action, "_choices_actions", ())]
    return set(re.findall(r"[A-Za-z_]{2,}", " ".join(texts)))


def _foreign(text: str) -> list[str]:
    return sorted(set(re.findall(r"[A-Za-z_]{2,}", text)) - _our_words())


@pytest.mark.parametrize("command", sorted(_parsers()))
def test_help_of_every_command_is_chinese(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"] if command else ["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"用法：reconcile {command}".rstrip())
    assert "显示本帮助并退出" in out and "选项" in out
    assert not ARGPARSE_WORDS.search(out.replace("--help", "")), out
    assert not _foreign(out), (_foreign(out), out)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        ([], "缺少参数：命令"),
        (["frob"], "无效的选择：'frob'"),
        (["check"], "缺少参数：文件"),
        (["run", "--workspace"], "参数 --workspace：后面应跟一个值"),
        (["run", "--as-of", "x"], "参数 --as-of：日期格式应为"),
        (["run", "extra"], "无法识别的参数：extra"),
        (["run", "--no-email=yes"], "此选项不接受值"),
        (["run", "--"], "无法识别的参数"),
    ],
)
def test_usage_errors_are_chinese_and_exit_2(argv, said, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("用法：reconcile") and "：错误：" in err and said in err, err
    assert not ARGPARSE_WORDS.search(err), err
    assert not set(_foreign(err)) - {"frob", "extra", "yes", "x"}, err


def test_help_columns_line_up_with_chinese_placeholders(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  -")]
    # the column where each help text starts, counting a Chinese character as two
    starts = {
        sum(1 + (ord(c) > 0x2E7F) for c in re.match(r"\s*\S.*?\s{2,}", line).group())
        for line in lines
    }
    assert len(starts) == 1, lines


def test_other_parsers_in_the_process_keep_their_own_words():
    build_parser().format_help()
    assert "usage:" in argparse.ArgumentParser(prog="x").format_help()
