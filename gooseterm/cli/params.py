"""Numeric command-line options, read as strictly as evidence: click's INT and FLOAT are Python's
int() and float(), which take '٣', '1_000', ' 7 ', 'nan' and 'inf'."""

from __future__ import annotations

import click

from gooseterm.adapters.numbers import NumberError, decimal, whole_number


class WholeNumber(click.ParamType):
    """A whole number in ASCII digits, at least `minimum`."""

    name = "integer"

    def __init__(self, minimum: int = 0) -> None:
        self.minimum = minimum

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = whole_number(str(value))
            except NumberError as exc:
                self.fail(str(exc), param, ctx)
        if number < self.minimum:
            self.fail(f"{number} is less than the minimum {self.minimum}", param, ctx)
        return number


class Seconds(click.ParamType):
    """A finite, non-negative number of seconds in ASCII decimal ('0.5', '30')."""

    name = "seconds"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = decimal(str(value))
            except NumberError as exc:
                self.fail(str(exc), param, ctx)
        if not number >= 0:
            self.fail(f"{number:g} is negative", param, ctx)
        return number
