"""Every parameter the page can send, checked: ``parse_config({"hidden": [4, 4]})`` returns a
``Config`` or raises ``ParamError`` with a message the page shows; ``parse_csv(text)`` checks an
uploaded data set the same way.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

# Caps: they bound the work one request or one session can ask of the server.
MAX_LAYERS = 8
MAX_NEURONS = 8
MIN_POINTS, MAX_POINTS = 50, 2000
MAX_UPLOAD_BYTES = 256 * 1024
MAX_UPLOAD_ROWS = MAX_POINTS
MAX_CLASSES = 5

FEATURES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
CLASSIFICATION_DATASETS = ("circle", "xor", "gauss", "spiral")
REGRESSION_DATASETS = ("plane", "multigauss")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "l1", "l2")
OPTIMIZERS = ("sgd", "momentum", "adam")
INITS = ("xavier", "he")
PROBLEMS = ("classification", "regression")


class ParamError(ValueError):
    """A parameter the playground cannot use; the message names it and what is allowed."""


@dataclass(frozen=True)
class Config:
    """One playground setup; the defaults are TF Playground's (with 2 hidden layers of 4)."""

    problem: str = "classification"
    dataset: str = "circle"
    classes: int = 2
    points: int = 500
    noise: int = 0  # percent
    train_ratio: int = 50  # percent of the points used for training
    batch: int = 10
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 4)
    activation: str = "tanh"
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    optimizer: str = "sgd"
    init: str = "xavier"
    seed: int = 0
    resolution: int = 50  # heat-map cells per side
    custom: bool = field(default=False)  # the data came from an uploaded CSV

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["features"] = list(self.features)
        d["hidden"] = list(self.hidden)
        return d


_FIELDS = {f.name for f in dataclasses.fields(Config)} - {"custom"}


def _choice(name: str, value, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ParamError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _int(name: str, value, lo: int, hi: int) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or (isinstance(value, float) and not value.is_integer())):
        raise ParamError(f"{name} must be a whole number from {lo} to {hi} (got {value!r})")
    value = int(value)
    if not lo <= value <= hi:
        raise ParamError(f"{name} must be from {lo} to {hi} (got {value})")
    return value


def _float(name: str, value, lo: float, hi: float, *, open_lo: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParamError(f"{name} must be a number (got {value!r})")
    value = float(value)
    if value > hi or value < lo or (open_lo and value == lo):
        low = f"above {lo:g}" if open_lo else f"from {lo:g}"
        raise ParamError(f"{name} must be {low} to {hi:g} (got {value:g})")
    return value


def parse_config(params: dict, base: Config | None = None) -> Config:
    """``base`` (default: the defaults) with ``params`` applied, every value checked."""
    if not isinstance(params, dict):
        raise ParamError("the settings must be a JSON object")
    unknown = sorted(set(params) - _FIELDS)
    if unknown:
        raise ParamError(f"unknown parameter {unknown[0]!r}; expected some of "
                         f"{', '.join(sorted(_FIELDS))}")
    merged = {**(base or Config()).to_dict(), **params}
    problem = _choice("problem", merged["problem"], PROBLEMS)
    # uploaded data stays until another data set or problem is picked
    custom = (base is not None and base.custom and params.get("dataset", "custom") == "custom"
              and params.get("problem", base.problem) == base.problem)
    datasets = CLASSIFICATION_DATASETS if problem == "classification" else REGRESSION_DATASETS
    dataset = merged["dataset"]
    if custom:
        dataset = "custom"
    elif dataset not in datasets:
        raise ParamError(f"dataset must be one of {', '.join(datasets)} for {problem} "
                         f"(got {dataset!r}); upload a CSV for your own data")
    if base is not None and base.custom and not custom:  # back to generated data
        merged["points"] = params.get("points", Config.points)
        merged["classes"] = params.get("classes", Config.classes)
    classes = _int("classes", merged["classes"], 2, MAX_CLASSES)
    if custom and base is not None:  # the upload decides these (custom implies a base)
        classes, merged["points"] = base.classes, base.points
    if dataset in ("circle", "xor", "gauss") and classes != 2:
        raise ParamError(f"the {dataset} data set has 2 classes (got classes={classes}); "
                         "spiral has 2 to 5")
    if problem == "regression" and not custom:
        classes = 2  # unused
    features = merged["features"]
    if (not isinstance(features, (list, tuple)) or not features
            or any(f not in FEATURES for f in features)):
        raise ParamError(f"features must be a non-empty list of {', '.join(FEATURES)} "
                         f"(got {features!r})")
    if len(set(features)) != len(features):
        raise ParamError(f"features lists a feature twice: {features!r}")
    hidden = merged["hidden"]
    if not isinstance(hidden, (list, tuple)) or len(hidden) > MAX_LAYERS:
        raise ParamError(f"hidden must be a list of at most {MAX_LAYERS} layer sizes "
                         f"(got {hidden!r})")
    hidden = tuple(_int(f"hidden layer {i + 1}", n, 1, MAX_NEURONS) for i, n in enumerate(hidden))
    return Config(
        problem=problem, dataset=dataset, classes=classes,
        points=_int("points", merged["points"], MIN_POINTS, MAX_POINTS),
        noise=_int("noise", merged["noise"], 0, 50),
        train_ratio=_int("train_ratio", merged["train_ratio"], 10, 90),
        batch=_int("batch", merged["batch"], 1, MAX_POINTS),
        features=tuple(f for f in FEATURES if f in features),  # a fixed order: stable weights
        hidden=hidden,
        activation=_choice("activation", merged["activation"], ACTIVATIONS),
        lr=_float("lr", merged["lr"], 0.0, 10.0, open_lo=True),
        regularization=_choice("regularization", merged["regularization"], REGULARIZATIONS),
        reg_rate=_float("reg_rate", merged["reg_rate"], 0.0, 10.0),
        optimizer=_choice("optimizer", merged["optimizer"], OPTIMIZERS),
        init=_choice("init", merged["init"], INITS),
        seed=_int("seed", merged["seed"], 0, 2**31 - 1),
        resolution=_int("resolution", merged["resolution"], 10, 100),
        custom=custom,
    )


@dataclass
class UploadedData:
    """A CSV's points: ``xy`` (n, 2), ``target`` (class indices or values), the problem."""

    xy: np.ndarray
    target: np.ndarray
    problem: str
    classes: int


def parse_csv(text: str) -> UploadedData:
    """``x1,x2,label`` (classification: 2-5 distinct whole-number labels) or ``x1,x2,y``
    (regression), one header line, then one point per line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ParamError("the CSV is empty; expected a header x1,x2,label or x1,x2,y")
    header = [h.strip().lower() for h in lines[0].split(",")]
    if header not in (["x1", "x2", "label"], ["x1", "x2", "y"]):
        raise ParamError(f"the CSV's header must be x1,x2,label or x1,x2,y (got {lines[0][:60]!r})")
    rows = lines[1:]
    if not MIN_POINTS <= len(rows) <= MAX_UPLOAD_ROWS:
        raise ParamError(f"the CSV must have {MIN_POINTS} to {MAX_UPLOAD_ROWS} points "
                         f"(got {len(rows)})")
    values = np.empty((len(rows), 3))
    for i, row in enumerate(rows, start=2):
        cells = row.split(",")
        if len(cells) != 3:
            raise ParamError(f"line {i} of the CSV has {len(cells)} columns; expected 3")
        for j, cell in enumerate(cells):
            try:
                v = float(cell)
            except ValueError:
                raise ParamError(f"line {i} of the CSV: {cell.strip()[:20]!r} in column "
                                 f"{header[j]} is not a number") from None
            if not math.isfinite(v):
                raise ParamError(f"line {i} of the CSV: column {header[j]} is {cell.strip()}")
            values[i - 2, j] = v
    xy = values[:, :2]
    if np.abs(xy).max() > 1e6:
        raise ParamError("the CSV's x1 and x2 must be within ±1e6")
    # the plane shown is [-6, 6]²: scale the points into it, keeping their shape
    span = np.abs(xy).max()
    xy = xy * (6.0 / span) if span > 0 else xy
    if header[2] == "y":
        return UploadedData(xy, values[:, 2], "regression", 2)
    labels = values[:, 2]
    if np.any(labels != np.round(labels)):
        raise ParamError("the CSV's label column must hold whole numbers (class labels); "
                         "use the header x1,x2,y for a regression target")
    distinct, target = np.unique(labels, return_inverse=True)
    if not 2 <= len(distinct) <= MAX_CLASSES:
        raise ParamError(f"the CSV must have 2 to {MAX_CLASSES} distinct labels "
                         f"(got {len(distinct)})")
    return UploadedData(xy, target.astype(np.int64), "classification", len(distinct))
