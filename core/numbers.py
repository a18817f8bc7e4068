"""Exact numbers for the update ledger: safe parsing and readable formatting.

Values are kept as `fractions.Fraction` so that `500 - 0.01 * 93,750,000` comes out
as exactly `-937,000` (no 0.30000000000000004 float noise). Formatting never calls
`str()` on a huge integer, so even a 10,000-digit product prints instantly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Rational

import mpmath

from core.text import literal

MINUS = "\u2212"  # the typographic minus sign used on screen
FLOAT64_MAX = Fraction(int.from_bytes(b"\xff" * 8, "big") >> 11) * 2**971  # (2 - 2**-52) * 2**1023
FLOAT64_TINY = Fraction(1, 2**1022)  # smallest normal float64

_LOG10_2 = math.log10(2)
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$", re.ASCII)
MAX_EXPONENT = 4000  # 10^±4000: far beyond any float, still exact and instant as a Fraction
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class NumberError(ValueError):
    """A value typed by a learner that is not an acceptable number (the message says why)."""


def parse_number(text: str, *, name: str = "value", limit: Fraction | int | None = None) -> Fraction:
    """Parse a decimal the learner typed ("93,750,000", "1e308", "-0.01", "1/4") into an exact Fraction.

    Never evaluates the text: only plain decimals, scientific notation and `a/b` are accepted, written with the
    digits 0–9 and, as the app writes them, thousands separators (commas or thin spaces) and the minus sign −.
    Python's own literals go further (`1_000`, Arabic-Indic or full-width digits); they are refused, with a
    message, so that what is accepted here is exactly what a link, the lab and this page accept everywhere.
    `limit` bounds the magnitude; anything else raises NumberError with a message for the screen (the typed text
    in it is shown literally, never as Markdown).
    """
    if text is None:
        raise NumberError(f"{name}: please enter a number.")
    raw = str(text).strip()
    if not raw:
        raise NumberError(f"{name}: please enter a number.")
    if len(raw) > 80:
        raise NumberError(f"{name}: {literal(raw, 20)} is too long to be a number (80 characters at most).")
    cleaned = raw.replace(MINUS, "-").replace("\u2009", "").replace(" ", "").replace(",", "")
    if "_" in cleaned:
        raise NumberError(f"{name}: {literal(raw)} is not a number here: write 1000 or 1,000 (no underscores).")
    if any(c.isdigit() or c.isnumeric() for c in cleaned if not c.isascii()):
        raise NumberError(f"{name}: {literal(raw)} uses digits other than 0–9; please type it with 0–9.")
    parts = cleaned.split("/")
    if len(parts) > 2:
        raise NumberError(f"{name}: {literal(raw)} is not a number. Use digits like 500, -0.01, 1e308 or 1/4.")
    for part in parts:
        if not _NUMBER.match(part):
            raise NumberError(f"{name}: {literal(raw)} is not a number. Use digits like 500, -0.01, 1e308 or 1/4.")
        exponent = part.lower().split("e")[1] if "e" in part.lower() else "0"
        if abs(int(exponent)) > MAX_EXPONENT:
            raise NumberError(f"{name}: the exponent in {literal(raw)} is far outside any sensible range "
                              f"(at most {MAX_EXPONENT:,} either way).")
    value = Fraction(Decimal(parts[0]))
    if len(parts) == 2:
        den = Fraction(Decimal(parts[1]))
        if den == 0:
            raise NumberError(f"{name}: {literal(raw)} divides by zero.")
        value /= den
        if value and abs(log10_abs(value)) > MAX_EXPONENT:
            raise NumberError(f"{name}: {literal(raw)} is far outside any sensible range "
                              f"({power_of_ten(-MAX_EXPONENT)} … {power_of_ten(MAX_EXPONENT)} at most).")
    if limit is not None and abs(value) > limit:
        raise NumberError(f"{name}: {format_number(value)} is out of range; use a value between "
                          f"{format_number(-Fraction(limit))} and {format_number(Fraction(limit))}.")
    return value


MAX_LIST = 60  # values in one list box ("500; 500; 400")


def parse_numbers(text: str, *, name: str = "values", limit: Fraction | int | None = None,
                  most: int = MAX_LIST) -> list[Fraction]:
    """A list of exact numbers separated by semicolons or spaces ("500; 500; 400"), each read by `parse_number`;
    NumberError (with a message for the screen) when it is empty, too long, or holds anything else."""
    parts = [p.strip(",") for p in str(text or "").replace(";", " ").split() if p.strip(",")]
    if not parts:
        raise NumberError(f"{name}: please enter at least one number.")
    if len(parts) > most:
        raise NumberError(f"{name}: at most {most} values.")
    return [parse_number(part, name=name, limit=limit) for part in parts]


def to_fraction(value: object) -> Fraction:
    """Exact Fraction of an int, Fraction, finite float, Decimal or SymPy number (floats by their shortest repr)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no exact value")
        return Fraction(Decimal(repr(float(value))))  # float(): numpy's float64 reprs as "np.float64(…)"
    if isinstance(value, Decimal):
        return Fraction(value)
    if isinstance(value, Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    # SymPy numbers: Rational has p/q, Float carries an mpmath mantissa and binary exponent.
    if hasattr(value, "p") and hasattr(value, "q"):
        return Fraction(int(value.p), int(value.q))
    mpf = getattr(value, "_mpf_", None)
    if mpf is not None:
        sign, man, exp, _ = mpf
        if man == 0 and exp != 0:
            raise ValueError(f"{value} is not finite")
        if abs(exp) > 100_000:
            raise ValueError("a float this far from 1 has no practical exact form; use log10_abs/scientific")
        mag = Fraction(int(man)) * (Fraction(2) ** int(exp))
        return -mag if sign else mag
    raise TypeError(f"cannot convert {type(value).__name__} to an exact number")


@dataclass(frozen=True)
class Scientific:
    """A number as sign, significant digits and a power of ten, and whether it is exact."""

    negative: bool
    digits: str  # no leading or trailing zeros, e.g. "9375" for 93,750,000
    exponent: int  # value = 0.digits... ; here: first digit times 10**exponent
    exact: bool

    @property
    def is_zero(self) -> bool:
        return self.digits == "0"


def _mpf(value: object) -> tuple | None:
    """The mpmath (sign, mantissa, exponent, bits) tuple of a SymPy Float, else None."""
    return getattr(value, "_mpf_", None)


def _mpf_scientific(mpf: tuple, significant: int) -> Scientific:
    """Scientific form of a binary float of any exponent (σ'(10¹²) ≈ 10⁻⁴³⁴²⁹⁴⁴⁸¹⁹⁰³ included).

    Converting such a value to a Fraction would build a 10¹²-bit integer; mpmath's decimal
    conversion works from the exponent instead.
    """
    sign, man, _exp, _bits = mpf
    if man == 0:
        if mpf != (0, 0, 0, 0):
            raise ValueError("not a finite number")
        return Scientific(False, "0", 0, True)
    text = mpmath.libmp.to_str(mpf, significant, min_fixed=1, max_fixed=0, show_zero_exponent=True)
    mantissa, _, exponent = text.lstrip("-").partition("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    return Scientific(bool(sign), digits, int(exponent), False)


def scientific(value: object, significant: int = 30) -> Scientific:
    """Round |value| to `significant` digits with integer arithmetic only (works for any size)."""
    if _mpf(value) is not None:
        return _mpf_scientific(_mpf(value), significant)
    value = to_fraction(value)
    if value == 0:
        return Scientific(False, "0", 0, True)
    negative = value < 0
    n, d = abs(value.numerator), value.denominator
    e = math.floor((n.bit_length() - d.bit_length()) * _LOG10_2)
    while True:
        shift = significant - 1 - e
        num, den = (n * 10**shift, d) if shift >= 0 else (n, d * 10 ** (-shift))
        q, r = divmod(num, den)
        if q >= 10**significant:
            e += 1
            continue
        if q < 10 ** (significant - 1):
            e -= 1
            continue
        break
    exact = r == 0
    if 2 * r >= den:
        q += 1
        if q == 10**significant:
            q //= 10
            e += 1
    digits = str(q).rstrip("0") or "0"
    return Scientific(negative, digits, e, exact)


def _group(int_digits: str) -> str:
    """Insert thousands separators: '93750000' -> '93,750,000'."""
    head = len(int_digits) % 3 or 3
    groups = [int_digits[:head]] + [int_digits[i:i + 3] for i in range(head, len(int_digits), 3)]
    return ",".join(groups)


def _plain(sci: Scientific) -> str:
    """Positional notation of a Scientific (no sign), e.g. digits '9375', exponent 7 -> '93,750,000'."""
    digits, e = sci.digits, sci.exponent
    if e >= 0:
        if len(digits) <= e + 1:
            return _group(digits + "0" * (e + 1 - len(digits)))
        return _group(digits[: e + 1]) + "." + digits[e + 1:]
    return "0." + "0" * (-e - 1) + digits


def _mantissa(sci: Scientific) -> str:
    return sci.digits[0] + ("." + sci.digits[1:] if len(sci.digits) > 1 else "")


@dataclass(frozen=True)
class Formatted:
    """A number ready for the screen: plain text and LaTeX, and whether it was rounded."""

    text: str
    latex: str
    exact: bool


ROUNDED_DIGITS = 4  # significant digits of a rounded (inexact) value on screen, as `sig` and the lab's numbers use


def format_value(value: object, *, significant: int = ROUNDED_DIGITS, plain_range: tuple[int, int] = (-6, 17)) -> Formatted:
    """Format a number exactly when it has at most 30 significant digits, else rounded (marked ≈).

    Plain positional notation with thousands separators inside `plain_range` of powers of ten,
    scientific notation (9.375 × 10⁷) outside it. Infinities and NaN get their symbols.
    """
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return Formatted("NaN", r"\mathrm{NaN}", False)
        return Formatted(("" if value > 0 else MINUS) + "∞", ("" if value > 0 else "-") + r"\infty", False)
    if _mpf(value) is not None:
        sci = scientific(value, significant)
    else:
        frac = to_fraction(value)
        sci = scientific(frac, 30)
        if not sci.exact:
            sci = scientific(frac, significant)
    sign_text = MINUS if sci.negative else ""
    sign_latex = "-" if sci.negative else ""
    if sci.is_zero:
        return Formatted("0", "0", True)
    lo, hi = plain_range
    if lo <= sci.exponent < hi:
        body = _plain(sci)
        text, latex = sign_text + body, sign_latex + body.replace(",", "{,}")
    else:
        mant = _mantissa(sci)
        text = f"{sign_text}{mant} × 10{str(sci.exponent).translate(_SUPERSCRIPT)}"
        latex = f"{sign_latex}{mant} \\times 10^{{{sci.exponent}}}"
    if not sci.exact:
        text, latex = "≈ " + text, r"\approx " + latex
    return Formatted(text, latex, sci.exact)


def rounded(value: object, digits: int = 2, plain_range: tuple[int, int] = (-3, 5)) -> str:
    """A label for a drawing: `digits` significant digits, no ≈ (the exact value is printed beside the drawing),
    e.g. 3.6 × 10⁻²¹⁵ for 3.56228820337… × 10⁻²¹⁵; a value with at most 4 significant digits stays exact (125,
    −0.25). Works at any size, like `format_value`."""
    if isinstance(value, float) and not math.isfinite(value):
        return fmt(value)
    sci = scientific(value, 4)
    if not sci.exact:
        sci = scientific(value, digits)
    if sci.is_zero:
        return "0"
    sign = MINUS if sci.negative else ""
    lo, hi = plain_range
    if lo <= sci.exponent < hi:
        return sign + _plain(sci)
    return f"{sign}{_mantissa(sci)} × 10{str(sci.exponent).translate(_SUPERSCRIPT)}"


def fmt(value: object, **kwargs: object) -> str:
    """Plain-text form of `format_value` (e.g. '−937,000')."""
    return format_value(value, **kwargs).text  # type: ignore[arg-type]


def fmt_latex(value: object, **kwargs: object) -> str:
    """LaTeX form of `format_value`, without the leading ≈ (callers put = or ≈ themselves)."""
    formatted = format_value(value, **kwargs)  # type: ignore[arg-type]
    return formatted.latex.removeprefix(r"\approx ")


def equals(value: object, **kwargs: object) -> str:
    """'= 125' for an exact value, '≈ 7.12 × 10⁻²¹⁸' for a rounded one: ready to follow a name."""
    text = fmt(value, **kwargs)
    return text if text.startswith("≈") else "= " + text


def format_number(value: object) -> str:
    """Shorthand used in messages."""
    return fmt(value)


def log10_abs(value: object) -> float:
    """log10|value| for a number of any size (−inf for 0), without overflowing a float."""
    mpf = _mpf(value)
    if mpf is not None:
        if mpf[1] == 0:
            return -math.inf
        return float(mpmath.log10(abs(mpmath.mpf(mpf))))
    value = to_fraction(value)
    if value == 0:
        return -math.inf
    n, d = abs(value.numerator), value.denominator
    shift = max(n.bit_length(), d.bit_length()) - 60
    if shift > 0:
        # Scale both to ~60 bits; the ratio keeps ~15 good digits.
        n_small = n >> max(n.bit_length() - 60, 0)
        d_small = d >> max(d.bit_length() - 60, 0)
        return (math.log10(n_small) + max(n.bit_length() - 60, 0) * _LOG10_2
                - math.log10(d_small) - max(d.bit_length() - 60, 0) * _LOG10_2)
    return math.log10(n) - math.log10(d)


def as_float64(value: object) -> float:
    """What float64 makes of an exact value: ±inf beyond 1.8e308, 0 or subnormal below 2.2e-308."""
    if _mpf(value) is not None:
        return float(mpmath.mpf(_mpf(value)))  # mpmath rounds to ±inf / 0 itself
    value = to_fraction(value)
    if abs(value) > FLOAT64_MAX:
        return math.inf if value > 0 else -math.inf
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def is_approximate(value: object) -> bool:
    """True for floating values (SymPy Float, Python float) whose digits are rounded."""
    return hasattr(value, "_mpf_") or isinstance(value, float)


def sig(value: float, digits: int = 3, plain_range: tuple[int, int] = (-4, 7)) -> str:
    """A measured (float) number for a person to read: `digits` significant digits, thousands separators,
    `× 10ⁿ` outside `plain_range` of powers of ten, ∞ and NaN as symbols — never `1e-08` or `4.92e+15`.

    The one human format for measured values (diagnosis, captions, tables, stories); exports keep machine formats.
    """
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else MINUS + "∞"
    return fmt(float(f"{value:.{digits}g}"), plain_range=plain_range).removeprefix("≈ ")


def power_of_ten(k: int) -> str:
    """10ᵏ for a whole k, written with superscripts: 10⁻¹⁰, 10³ (never 1e-10)."""
    return "10" + str(int(k)).translate(_SUPERSCRIPT)


def times_ten(exponent: float, digits: int = 2) -> str:
    """10^x for a real x given as its exponent (e.g. a log10 of a number far beyond float64), as `d.d × 10ⁿ`."""
    if not math.isfinite(exponent):
        return "0" if exponent < 0 else "∞"
    n = math.floor(exponent)
    mantissa = 10 ** (exponent - n)
    if round(mantissa, digits - 1) >= 10:
        mantissa, n = mantissa / 10, n + 1
    return f"{mantissa:.{digits - 1}f} × 10{str(n).translate(_SUPERSCRIPT)}".replace("-", MINUS)
