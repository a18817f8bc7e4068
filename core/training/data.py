"""Training data: seeded synthetic sets made with numpy, or a small CSV the learner uploads.

Every dataset is a function of the config alone (its own `numpy.random.default_rng(seed)`), so two
sessions with the same seed get the same points even when they train at the same moment.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from core.training.config import ConfigError, TrainConfig

MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 5_000
MAX_CSV_COLUMNS = 64
MAX_CLASSES = 20


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


def parse_csv(data: bytes) -> tuple[np.ndarray, np.ndarray, str]:
    """A numeric CSV (header optional): all columns but the last are inputs, the last is the target.

    The target is a class label when it takes at most 20 whole-number values, else a regression target.
    Anything else raises ConfigError with a message for the screen.
    """
    if len(data) > MAX_CSV_BYTES:
        raise ConfigError(f"The CSV is {len(data):,} bytes; the limit is {MAX_CSV_BYTES:,} bytes.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError("The file is not UTF-8 text; upload a plain CSV.") from exc
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        raise ConfigError("The CSV is empty.")

    def numeric(row: list[str]) -> list[float] | None:
        try:
            return [float(c) for c in row]
        except ValueError:
            return None

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
            raise ConfigError(f"Data row {i} has {len(row)} columns; the first has {width}.")
        parsed = numeric(row)
        if parsed is None:
            raise ConfigError(f"Data row {i} has a non-numeric value: {', '.join(row)[:60]}. Only numbers are allowed.")
        values.append(parsed)
    table = np.asarray(values, dtype=np.float64)
    if not np.isfinite(table).all():
        raise ConfigError("The CSV contains inf or NaN; only finite numbers are allowed.")
    x, target = table[:, :-1], table[:, -1]
    classes = np.unique(target)
    if len(classes) <= MAX_CLASSES and np.all(classes == np.round(classes)):
        labels = np.searchsorted(classes, target).astype(np.int64)
        return x, labels, "classification"
    return x, target[:, None], "regression"


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
    x = x * config.input_scale
    if config.normalize_inputs:  # the fix for large inputs: every column to mean 0, standard deviation 1
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return Dataset(x, y, task, n_outputs, name)
