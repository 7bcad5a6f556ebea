"""What `mpp train`, `mpp backtest` and `mpp tune` read before they fit anything: the
training config with the command's options applied, and the stored price history.

Each input is checked here, once for the three commands, before anything is written:
unknown symbols, an inverted range, too little history. Training takes a range as
its data (default: every stored symbol, every stored day); a walk-forward command
takes a range to forecast (default: the configured symbols that are stored, the last
`span` before the last stored day) and needs enough history before its start to fit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from market_predictor.checks import check_range
from market_predictor.config import Settings
from market_predictor.errors import InputError, NotFoundError
from market_predictor.features import build_features, complete_rows
from market_predictor.symbols import checked_symbols
from market_predictor.training.config import TrainConfig, load_train_config

if TYPE_CHECKING:
    from market_predictor.store import PriceFeatureGroup, TrainingDataset

# A year of complete feature rows: less and neither the network nor the baselines'
# empirical interval has anything to learn from.
MIN_TRAINING_ROWS = 252


def merged_config(
    settings: Settings,
    *,
    model: str | None = None,
    max_epochs: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    distributed: bool = False,
) -> TrainConfig:
    """The training config with `overrides`, then the `model` and `max_epochs` options
    (None: the file's value); a bad option is an InputError naming its parameter.
    Without `distributed`, on one device in this process (`TrainConfig.single_process`)."""
    options = {k: v for k, v in {"model": model, "max_epochs": max_epochs}.items() if v is not None}
    config = load_train_config(settings, {**(overrides or {}), **options}, options=options)
    return config if distributed else config.single_process()


@dataclass(frozen=True)
class WalkForward:
    """A range forecast walk-forward: by default the `span` ending on the last stored day,
    with MIN_TRAINING_ROWS + `window` usable rows before its start to fit on."""

    span: pd.DateOffset
    window: int = 0


@dataclass(frozen=True)
class History:
    prices: pd.DataFrame
    # As asked; None: every stored symbol (a training dataset then selects them all).
    symbols: list[str] | None
    start: dt.date
    end: dt.date


def load_history(
    settings: Settings,
    symbols: Sequence[str] | None,
    start: dt.date | None,
    end: dt.date | None,
    *,
    walk_forward: WalkForward | None = None,
) -> History:
    """The stored rows of `symbols` and the resolved [start, end].

    Without `walk_forward` the rows are those in the range (the training data); with it,
    every row up to `end`, the rows before `start` being what the first fold fits on.
    NotFoundError for an empty store or unknown symbols; InputError for an inverted
    range, a range without rows, or (walk-forward) too little history before `start`.
    """
    from market_predictor.store import FeatureStore

    check_range(start, end)
    group = FeatureStore.from_settings(settings).prices()
    stored = group.symbols() if group.table_version() is not None else []
    if not stored:
        raise NotFoundError("the feature store holds no prices yet: run `mpp ingest` first")
    wanted = checked_symbols(symbols) if symbols else None
    missing = sorted(set(wanted or []) - set(stored))
    if missing:
        raise NotFoundError(
            f"symbol(s) not in the feature store: {', '.join(missing)} "
            f"(it holds {', '.join(stored)})"
        )
    if walk_forward is None:
        return _training_range(group, wanted, start, end)
    chosen = wanted or sorted(set(settings.symbols) & set(stored)) or stored
    return _walk_forward_range(group, chosen, start, end, walk_forward)


def _training_range(
    group: PriceFeatureGroup, wanted: list[str] | None, start: dt.date | None, end: dt.date | None
) -> History:
    from market_predictor.store.prices import BAR_COLUMNS

    rows = group.read(wanted, start, end, columns=BAR_COLUMNS)
    if rows.empty:
        raise InputError(f"no price rows between {start or 'the start'} and {end or 'the end'}")
    first = pd.Timestamp(rows["date"].min()).date()
    last = pd.Timestamp(rows["date"].max()).date()
    return History(rows, wanted, start or first, end or last)


def _walk_forward_range(
    group: PriceFeatureGroup,
    wanted: list[str],
    start: dt.date | None,
    end: dt.date | None,
    walk_forward: WalkForward,
) -> History:
    end = end or max(pd.Timestamp(d).date() for d in group.last_dates(wanted).values())
    # The span ends on `end`: starting a day after `end - span` keeps month arithmetic
    # from adding a one-day fold at the end (2012-12-31 - 1M + 1M = 2012-12-30).
    start = start or (pd.Timestamp(end) - walk_forward.span + pd.Timedelta(days=1)).date()
    check_range(start, end)
    from market_predictor.store.prices import BAR_COLUMNS

    prices = group.read(symbols=wanted, end=end, columns=BAR_COLUMNS)
    dates = pd.to_datetime(prices["date"])
    in_range = set(prices.loc[dates >= pd.Timestamp(start), "symbol"])
    absent = [s for s in wanted if s not in in_range]
    if absent:
        raise InputError(f"no stored prices for {', '.join(absent)} between {start} and {end}")
    history = usable_rows(prices.loc[dates < pd.Timestamp(start)])
    needed = MIN_TRAINING_ROWS + walk_forward.window
    if history < needed:
        raise InputError(
            f"too little history before {start}: {history} usable rows, need at least "
            f"{needed}; ingest earlier prices or move the start later"
        )
    return History(prices, wanted, start, end)


def usable_rows(prices: pd.DataFrame) -> int:
    """Rows with a complete feature vector and a known next-day target."""
    if prices.empty:
        return 0
    features = build_features(prices)
    return int((complete_rows(features) & features["target"].notna()).sum())


def check_dataset_request(
    dataset_version: int | None,
    symbols: Sequence[str] | None,
    start: dt.date | None,
    end: dt.date | None,
) -> None:
    """A training run names a dataset version or a selection, never both."""
    if dataset_version is not None and (symbols or start or end):
        raise InputError(
            "dataset_version fixes symbols and dates: give no symbols, start or end with it",
            param="dataset_version",
        )
    check_range(start, end)


def training_dataset(
    settings: Settings,
    config: TrainConfig,
    symbols: Sequence[str] | None,
    start: dt.date | None,
    end: dt.date | None,
    dataset_version: int | None,
) -> tuple[TrainingDataset, pd.DataFrame]:
    """The training dataset and its rows: `dataset_version` as stored, else the stored
    rows of the selection materialised as a dataset (an identical one is reused). A
    selection too short for the held-out windows is refused before it is written."""
    from market_predictor.store import FeatureStore
    from market_predictor.training.evaluate import held_out_windows

    store = FeatureStore.from_settings(settings)
    if dataset_version is not None:
        return store.datasets.read(dataset_version, bars_only=True)
    history = load_history(settings, symbols, start, end)
    held_out_windows(history.prices, config)
    selection = (history.start, history.end, history.symbols)
    # Released before the dataset is written and read back: at thousands of symbols
    # each copy of the rows is about a GB.
    del history
    dataset = store.datasets.create(store.prices(), *selection, reuse=True)
    return store.datasets.read(dataset.version, bars_only=True)


def dataset_batches(
    settings: Settings, dataset: TrainingDataset, *, before: dt.date | None = None
) -> Iterator[pd.DataFrame]:
    """The dataset's rows dated before `before`, read from its table in batches of whole
    symbols (what the network's fit streams)."""
    from market_predictor.features import BATCH_ROWS
    from market_predictor.store import FeatureStore

    registry = FeatureStore.from_settings(settings).datasets
    return registry.read_batches(
        dataset.version, dataset.name, before=before, batch_rows=BATCH_ROWS
    )
