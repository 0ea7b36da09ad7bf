"""The command line's parser, in Chinese: argparse's own words (usage, titles, -h,
errors) translated while a parser works, and Chinese placeholders for arguments.

argparse looks its words up through `gettext` in its module globals at the moment it
uses them; they are swapped only while one of these parsers builds, formats or parses,
so other parsers in the process (pytest's, a library's) keep theirs.
"""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

# Every message argparse 3.10–3.13 shows a user; placeholders as argparse fills them.
_WORDS = {
    "usage: ": "用法：",
    "positional arguments": "参数",
    "options": "选项",
    "optional arguments": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "the following arguments are required: %s": "缺少参数：%s",
    "one of the arguments %s is required": "须给出以下参数之一：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "此选项不接受值：%r",
    "expected one argument": "后面应跟一个值",
    "expected at most one argument": "后面至多跟一个值",
    "expected at least one argument": "后面至少跟一个值",
    "expected %s argument": "后面应跟 %s 个值",
    "expected %s arguments": "后面应跟 %s 个值",
    "ambiguous option: %(option)s could match %(matches)s": (
        "选项 %(option)s 不明确，可能是：%(matches)s"
    ),
    "invalid %(type)s value: %(value)r": "无效的值：%(value)r",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "无效的选择：%(value)r（可选：%(choices)s）"
    ),
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "未知的命令 %(parser_name)r（可选：%(choices)s）"
    ),
    "unexpected option string: %s": "意外的选项：%s",
    "cannot have multiple subparser arguments": "只能有一组子命令",
}
# Placeholders for the arguments of this command line, by destination.
_METAVARS = {"workspace": "目录", "dir": "目录", "file": "文件", "out": "文件", "as_of": "日期"}

_Result = TypeVar("_Result")


def _word(message: str) -> str:
    return _WORDS.get(message, message)


def _words(singular: str, plural: str, count: int) -> str:
    return _word(singular if count == 1 else plural)


@contextmanager
def _chinese() -> Iterator[None]:
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = _word, _words  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def _in_chinese(work: Callable[[], _Result]) -> _Result:
    with _chinese():
        return work()


def _width(text: str) -> int:
    """Columns `text` takes on a terminal: a Chinese character takes two."""
    return sum(1 + (unicodedata.east_asian_width(c) in "WF") for c in text)


class ChineseHelpFormatter(argparse.HelpFormatter):
    """Usage lines start 用法：, whichever parser formats them."""

    def add_usage(
        self,
        usage: str | None,
        actions: Any,
        groups: Any,
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, _word("usage: ") if prefix is None else prefix)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:  # the help column clears the widest one
            width = _width(self._format_action_invocation(action)) + self._current_indent
            self._action_max_length = max(self._action_max_length, width)

    def _format_action(self, action: argparse.Action) -> str:
        # argparse pads by characters; a Chinese placeholder takes two columns on screen,
        # so the padding after it is shortened to keep the help texts in one column.
        text = super()._format_action(action)
        invocation = self._format_action_invocation(action)
        wide = _width(invocation) - len(invocation)
        start = text.find(invocation)
        end = start + len(invocation)
        if wide and start >= 0 and text[end : end + wide + 2] == " " * (wide + 2):
            text = text[:end] + text[end + wide :]
        return text


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose every word a user reads is Chinese; subcommands too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        with _chinese():  # the titles and -h's help are worded here
            super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        dest = kwargs.get("dest") or next(
            (a.lstrip("-").replace("-", "_") for a in args if a.startswith("--")),
            args[0].replace("-", "_") if args else "",
        )
        if dest in _METAVARS and "metavar" not in kwargs and kwargs.get("action") is None:
            kwargs["metavar"] = _METAVARS[dest]
        if kwargs.get("action") == "version":
            kwargs.setdefault("help", _word("show program's version number and exit"))
        return super().add_argument(*args, **kwargs)

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("metavar", "命令")
        return super().add_subparsers(**kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        return _in_chinese(
            lambda: super(ChineseArgumentParser, self).parse_known_args(args, namespace)
        )

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> argparse.Namespace:
        return _in_chinese(lambda: super(ChineseArgumentParser, self).parse_args(args, namespace))

    def format_usage(self) -> str:
        return _in_chinese(super().format_usage)

    def format_help(self) -> str:
        return _in_chinese(super().format_help)

    def error(self, message: str) -> NoReturn:
        with _chinese():
            super().error(message)
