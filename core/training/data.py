"""Training data: seeded synthetic sets made with numpy, or a small CSV the learner uploads.

Every dataset is a function of the config alone (its own `numpy.random.default_rng(seed)`), so two
sessions with the same seed get the same points even when they train at the same moment.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

import numpy as np

from core.numbers import sig
from core.text import literal
from core.training.config import ConfigError, TrainConfig

MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 5_000
MAX_CSV_COLUMNS = 64
MAX_CLASSES = 20
MAX_CELL_CHARS = 100  # a number written out takes a few dozen characters


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray  # (n, d) float64, already multiplied by the input scale
    y: np.ndarray  # (n,) int64 class labels, or (n, 1) float64 targets
    task: str  # "classification" or "regression"
    n_outputs: int
    name: str

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])

    @property
    def n(self) -> int:
        return int(self.x.shape[0])


def spirals(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals (the classic hard 2-D classification set)."""
    labels = np.arange(n) % 2
    t = np.sqrt(rng.uniform(0.0, 1.0, n)) * 3 * math.pi
    angle = t + labels * math.pi
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (3 * math.pi)
    return x + rng.normal(0.0, noise * 0.2, x.shape), labels.astype(np.int64)


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's make_moons)."""
    labels = np.arange(n) % 2
    t = rng.uniform(0.0, math.pi, n)
    x = np.where(labels[:, None] == 0, np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    return x + rng.normal(0.0, noise, x.shape), labels.astype(np.int64)


def regression(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(3·x₁) + x₂²/2 + noise on the square [−1, 1]²."""
    x = rng.uniform(-1.0, 1.0, (n, 2))
    y = np.sin(3 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + rng.normal(0.0, noise * 0.1, n)
    return x, y[:, None]


_CELL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)  # a plain decimal, digits 0–9
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def _number_cell(cell: str) -> float | None:
    """A CSV cell as a float: plain decimals only (as the rest of the app reads numbers), inf and NaN spelled as
    Python spells them (refused afterwards with their own message), else None."""
    text = cell.strip()
    if len(text) > MAX_CELL_CHARS or not (_CELL.fullmatch(text) or text.lower() in _NOT_FINITE):
        return None
    return float(text)


def _csv_rows(text: str) -> list[list[str]]:
    """The CSV's non-blank rows. Any line ending is accepted (\\n, \\r\\n, and the classic Mac's \\r); a field
    longer than csv's own limit is refused with a sentence rather than csv.Error."""
    if "\x00" in text:
        raise ConfigError("The file contains NUL bytes: it is not a plain-text CSV.")
    try:
        # newline=None: universal newlines, so a file saved with \\r line endings reads as rows too
        return [r for r in csv.reader(io.StringIO(text, newline=None)) if any(c.strip() for c in r)]
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise ConfigError(f"A field of the CSV is longer than {csv.field_size_limit():,} characters; a number "
                              "takes a few dozen at most. Is this the right file?") from exc
        raise ConfigError(f"The file cannot be read as comma-separated values ({exc}).") from exc


def parse_csv(data: bytes) -> tuple[np.ndarray, np.ndarray, str]:
    """A numeric CSV (header optional): all columns but the last are inputs, the last is the target.

    The target is a class label when it takes at most 20 whole-number values, else a regression target.
    Anything else raises ConfigError with a message for the screen (cells quoted in it are shown literally).
    """
    if len(data) > MAX_CSV_BYTES:
        raise ConfigError(f"The CSV is {len(data):,} bytes; the limit is {MAX_CSV_BYTES:,} bytes.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError("The file is not UTF-8 text; upload a plain CSV.") from exc
    rows = _csv_rows(text)
    if not rows:
        raise ConfigError("The CSV is empty.")

    def numeric(row: list[str]) -> list[float] | None:
        values = [_number_cell(c) for c in row]
        return None if None in values else values  # type: ignore[return-value]

    if numeric(rows[0]) is None:  # a header line
        rows = rows[1:]
    if len(rows) < 4:
        raise ConfigError("The CSV needs at least 4 data rows.")
    if len(rows) > MAX_CSV_ROWS:
        raise ConfigError(f"The CSV has {len(rows):,} rows; the limit is {MAX_CSV_ROWS:,}.")
    width = len(rows[0])
    if not 2 <= width <= MAX_CSV_COLUMNS:
        raise ConfigError(f"The CSV needs 2 to {MAX_CSV_COLUMNS} columns (inputs, then the target); it has {width}.")
    values = []
    for i, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ConfigError(f"Data row {i:,} has {len(row)} columns; the first has {width}.")
        parsed = numeric(row)
        if parsed is None:
            bad = next(c for c in row if _number_cell(c) is None)
            raise ConfigError(f"Data row {i:,} has a value that is not a plain decimal number: {literal(bad, 30)}. "
                              "Only numbers written with the digits 0–9 (e.g. -1.5, 2e-3) are allowed.")
        values.append(parsed)
    table = np.asarray(values, dtype=np.float64)
    if not np.isfinite(table).all():
        raise ConfigError("The CSV contains inf or NaN (or a number beyond float64's 1.8 × 10³⁰⁸); only finite "
                          "numbers are allowed.")
    x, target = table[:, :-1], table[:, -1]
    classes = np.unique(target)
    if len(classes) <= MAX_CLASSES and np.all(classes == np.round(classes)):
        labels = np.searchsorted(classes, target).astype(np.int64)
        return x, labels, "classification"
    return x, target[:, None], "regression"


def _check_representable(x: np.ndarray, y: np.ndarray, task: str, config: TrainConfig) -> None:
    """Refuse data the run's dtype cannot hold: in float32 an input above 3.4 × 10³⁸ is already ∞ before any layer,
    which is an unrepresentable input, not an exploding gradient."""
    largest = float(np.finfo(np.dtype(config.dtype)).max)
    scaled = " after the input scale" if config.input_scale != 1 else ""
    if x.size and not np.isfinite(x).all():
        raise ConfigError(f"The inputs{scaled} are beyond what float64 can compute with (1.8 × 10³⁰⁸"
                          f"{', squared when normalising' if config.normalize_inputs else ''}): lower the input scale.")
    peak = float(np.abs(x).max()) if x.size else 0.0
    if peak > largest:
        raise ConfigError(f"An input reaches {sig(peak)}{scaled}, beyond {config.dtype}'s largest number "
                          f"{sig(largest)}: it would be ∞ before the first layer. Choose float64 or a smaller "
                          "input scale (or rescale the data).")
    if task == "regression" and y.size and float(np.abs(y).max()) > largest:
        raise ConfigError(f"A target reaches {sig(float(np.abs(y).max()))}, beyond {config.dtype}'s largest "
                          f"number {sig(largest)}: choose float64 or rescale the targets.")


def make_dataset(config: TrainConfig, csv_bytes: bytes | None = None) -> Dataset:
    """The dataset a config describes, multiplied by its input scale."""
    rng = np.random.default_rng(config.seed)
    if config.dataset == "csv":
        if csv_bytes is None:
            raise ConfigError("Choose a CSV file to upload, or pick a synthetic dataset.")
        x, y, task = parse_csv(csv_bytes)
        name = "uploaded CSV"
    else:
        maker = {"spirals": spirals, "moons": moons, "regression": regression}[config.dataset]
        x, y = maker(config.n_samples, config.noise, rng)
        task, name = config.task(), config.dataset
    n_outputs = int(y.max()) + 1 if task == "classification" else 1
    if task == "classification" and n_outputs < 2:
        raise ConfigError("The target column has a single class; there is nothing to classify.")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, with what to change
        x = x * config.input_scale
        if config.normalize_inputs:  # the fix for large inputs: every column to mean 0, standard deviation 1
            std = x.std(axis=0)
            x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    _check_representable(x, y, task, config)
    return Dataset(x, y, task, n_outputs, name)
