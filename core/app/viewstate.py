"""A page's view as URL query parameters: a schema of typed fields, decoded with a notice for every bad value.

Nothing from the URL is ever evaluated: each value is parsed as the one type its field declares (a whole
number, a finite float within limits, one of a fixed list of choices, a yes/no, or a list of choices), and
anything else is dropped in favour of the default, with a sentence saying which parameter and why. Only
values that differ from the default are written, so a link stays short.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.numbers import sig

MAX_PARAMS = 100  # the chain page alone has 72 settings
MAX_VALUE_LENGTH = 300
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


class LinkValueError(ValueError):
    """One URL value a field cannot take; the message is the short reason quoted in the page's notice."""


def _decimal(text: str) -> float:
    """A plain decimal as a finite float: digits 0–9 only (no `1_000`, no other scripts' digits, no inf or NaN, no
    hexadecimal), as the pages' own text boxes read numbers; −0 becomes 0 and a value that float64 would round to
    ±∞ or to 0 is refused rather than silently changed. Raises LinkValueError with a short reason."""
    if not _DECIMAL.fullmatch(text):
        raise LinkValueError("not a plain decimal number written with the digits 0–9")
    value = float(text)
    if not math.isfinite(value):
        raise LinkValueError("beyond the largest float, 1.8 × 10³⁰⁸")
    if value == 0 and any(c in "123456789" for c in text.lower().partition("e")[0]):
        raise LinkValueError("too small for a float: it would be rounded to 0")
    return value + 0.0  # −0.0 + 0.0 is +0.0


@dataclass(frozen=True)
class Field:
    param: str  # the name in the URL
    kind: str  # "int", "float", "choice", "bool", "choices" (comma-separated), "text_float", "text"
    default: object
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    max_items: int = 20
    options: tuple[float, ...] = ()  # for "float": the only values allowed (a select slider)

    def decode(self, raw: str) -> object:
        """Parse one URL value; raise LinkValueError with a short reason."""
        if len(raw) > MAX_VALUE_LENGTH:
            raise LinkValueError("too long")
        text = raw.strip()
        if self.kind == "int":
            if not _INTEGER.fullmatch(text):
                raise LinkValueError("not a whole number written with the digits 0–9")
            value = int(text)
            self._check_range(value)
            return value
        if self.kind in ("float", "text_float"):
            value = _decimal(text)
            self._check_range(value)
            if self.options and value not in self.options:
                raise LinkValueError(f"not one of {', '.join(sig(o) for o in self.options)}")
            return text if self.kind == "text_float" else value
        if self.kind == "text":  # a page's own parser reads it (exact numbers); here only its size and characters
            if not text.isprintable():
                raise LinkValueError("contains control characters")
            return text
        if self.kind == "bool":
            if text.lower() not in ("1", "0", "true", "false"):
                raise LinkValueError("not 1 or 0")
            return text.lower() in ("1", "true")
        if self.kind == "choice":
            if text not in self.choices:
                raise LinkValueError(f"not one of {', '.join(self.choices)}")
            return text
        if self.kind == "choices":
            items = [t for t in text.split(",") if t] if text else []
            if len(items) > self.max_items or any(t not in self.choices for t in items):
                raise LinkValueError(f"a comma-separated list of {', '.join(self.choices)}")
            return items
        raise ValueError(f"unknown field kind {self.kind!r}")  # pragma: no cover - a schema bug

    def _check_range(self, value: float) -> None:
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise LinkValueError(f"outside {sig(self.lo)} … {sig(self.hi)}")

    def encode(self, value: object) -> str:
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "float":
            return repr(float(value))  # the shortest text that round-trips exactly
        if self.kind == "choices":
            return ",".join(value)  # type: ignore[arg-type]
        return str(value)


@dataclass(frozen=True)
class ViewSchema:
    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        names = [f.param for f in self.fields]
        if len(set(names)) != len(names):  # pragma: no cover - a schema bug
            raise ValueError("duplicate parameter names")

    @property
    def params(self) -> dict[str, Field]:
        return {f.param: f for f in self.fields}

    def defaults(self) -> dict[str, object]:
        return {f.param: f.default for f in self.fields}

    def decode(self, query: Mapping[str, object], ignore: tuple[str, ...] = ()) -> tuple[dict[str, object], list[str]]:
        """(the valid values by parameter name, one notice per value refused). Unknown names are reported too."""
        values: dict[str, object] = {}
        notices: list[str] = []
        known = self.params
        items = list(query.items())
        if len(items) > MAX_PARAMS:
            return {}, [f"The link has {len(items)} parameters (at most {MAX_PARAMS}); the defaults are shown instead."]
        for name, raw in items:
            if name in ignore:
                continue
            if name not in known:
                notices.append(f"'{_short(name)}' is not a setting of this page and was ignored.")
                continue
            if isinstance(raw, list | tuple):
                if len(raw) > 1:
                    notices.append(f"{name} appears {len(raw)} times in the link; only the last value, "
                                   f"'{_short(str(raw[-1]))}', is used.")
                raw = raw[-1] if raw else ""
            try:
                values[name] = known[name].decode(str(raw))
            except LinkValueError as err:
                notices.append(f"{name} = '{_short(str(raw))}' was ignored ({err}); the default is used.")
        return values, notices

    def encode(self, values: Mapping[str, object]) -> dict[str, str]:
        """The parameters whose value differs from the default."""
        out = {}
        for f in self.fields:
            if f.param in values and values[f.param] != f.default:
                out[f.param] = f.encode(values[f.param])
        return out


def _short(text: str, limit: int = 40) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
