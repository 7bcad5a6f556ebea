"""Walk-forward backtest: refit on an expanding window, forecast each next day, score.

For each fold start F (every k months or weeks from the backtest start), every
forecaster is fitted on rows dated before F only, then forecasts each day D of the
fold with rows up to D. A forecast is scored against the next stored close of its
symbol. The network and the naive baselines run on the same folds and rows, so
their metrics are directly comparable (MASE is always relative to persistence on
the very same forecasts).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from market_predictor.checks import check_range
from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.evaluation import DEFAULT_QUANTILES, metrics_table
from market_predictor.interval_tests import IntervalBacktest, forecasts_backtest
from market_predictor.models.forecaster import Forecaster
from market_predictor.online_calibration import OnlineRule, beside_static, simulate
from market_predictor.results import BacktestReport, FoldWindow, Metrics
from market_predictor.training.config import DEFAULT_RETRAIN_EVERY, TrainConfig
from market_predictor.training.evaluate import attach_outcomes
from market_predictor.training.fit import BASELINES
from market_predictor.training.gate import COMBINED
from market_predictor.training.history import (
    MIN_TRAINING_ROWS,
    WalkForward,
    load_history,
    merged_config,
    usable_rows,
)

DEFAULT_SPAN_YEARS = 1

_PERIOD = re.compile(r"^\s*([1-9]\d{0,2})\s*([MW])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RetrainEvery:
    """How often the walk-forward refits: a number of months (M) or weeks (W)."""

    count: int
    unit: str

    def offset(self) -> pd.DateOffset:
        if self.unit == "M":
            return pd.DateOffset(months=self.count)
        return pd.DateOffset(weeks=self.count)

    def span(self, periods: int) -> pd.DateOffset:
        """The length of `periods` consecutive periods."""
        return RetrainEvery(self.count * periods, self.unit).offset()

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def parse_retrain_every(text: str) -> RetrainEvery:
    match = _PERIOD.match(text or "")
    if match is None:
        raise InputError(
            f"retrain_every {text!r} is not a period: use a count and M (months) "
            "or W (weeks), e.g. 3M, 1M, 6M, 2W",
            param="retrain_every",
        )
    return RetrainEvery(int(match.group(1)), match.group(2).upper())


@dataclass(frozen=True)
class Fold:
    """Fit on rows before `start`; forecast as-of dates in [start, end]."""

    start: dt.date
    end: dt.date


def fold_schedule(start: dt.date, end: dt.date, every: RetrainEvery) -> list[Fold]:
    check_range(start, end)
    offset = every.offset()
    starts: list[dt.date] = []
    current = pd.Timestamp(start)
    # A fold starting on `end` itself could only forecast a day not stored yet.
    while current.date() < end or not starts:
        starts.append(current.date())
        current = current + offset
    ends = [s - dt.timedelta(days=1) for s in starts[1:]] + [end]
    return [Fold(s, e) for s, e in zip(starts, ends, strict=True)]


# (training rows dated before the fold start, the fold) -> a fitted forecaster
ForecasterFactory = Callable[[pd.DataFrame, Fold], Forecaster]
Progress = Callable[[Sequence[Fold]], Iterable[Fold]]


@dataclass
class BacktestResult:
    start: dt.date
    end: dt.date
    retrain_every: str
    symbols: list[str]
    folds: list[Fold]
    forecasters: list[str]
    # One row per forecaster and forecast, with its outcome: forecaster, fold_start,
    # symbol, as_of_date, target_date, last_close, predicted_close, lower, upper,
    # actual_close.
    forecasts: pd.DataFrame
    # Long table: forecaster, horizon, symbol (including "ALL"), every evaluation metric.
    table: pd.DataFrame
    config: dict[str, Any] | None = field(default=None)
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES

    def metrics(self, forecaster: str, symbol: str = "ALL", horizon: int = 1) -> dict[str, float]:
        row = self.table[
            (self.table["forecaster"] == forecaster)
            & (self.table["symbol"] == symbol)
            & (self.table["horizon"] == horizon)
        ]
        if row.empty:
            raise KeyError(f"no metrics for {forecaster} / {symbol} at horizon {horizon}")
        ids = ("forecaster", "symbol", "horizon")
        return {k: v for k, v in row.iloc[0].items() if k not in ids}

    def interval_tests(self, forecaster: str) -> dict[str, IntervalBacktest]:
        """The VaR-style backtests of a forecaster's next-day interval, per symbol and
        pooled ("ALL", hits of a day across symbols treated as independent)."""
        rows = self.forecasts[
            (self.forecasts["forecaster"] == forecaster) & (self.forecasts["horizon"] == 1)
        ]
        tests = {
            str(symbol): forecasts_backtest(group, self.quantiles)
            for symbol, group in rows.groupby("symbol")
        }
        tests["ALL"] = forecasts_backtest(rows, self.quantiles)
        return tests

    def report(self) -> BacktestReport:
        by_horizon: dict[int, dict[str, dict[str, Metrics]]] = {}
        for record in self.table.to_dict(orient="records"):
            horizon = int(record.pop("horizon"))
            per_symbol = by_horizon.setdefault(horizon, {}).setdefault(record.pop("forecaster"), {})
            per_symbol[record.pop("symbol")] = Metrics.model_validate(record)
        return BacktestReport(
            start=self.start,
            end=self.end,
            retrain_every=self.retrain_every,
            symbols=self.symbols,
            folds=[FoldWindow(start=f.start, end=f.end) for f in self.folds],
            forecasters=self.forecasters,
            config=self.config,
            metrics=by_horizon.get(1, {}),
            horizon_metrics={h: m for h, m in by_horizon.items() if h != 1},
            interval_tests={name: self.interval_tests(name) for name in self.forecasters},
        )


def walk_forward(
    prices: pd.DataFrame,
    *,
    start: dt.date,
    end: dt.date,
    retrain_every: RetrainEvery,
    factories: Mapping[str, ForecasterFactory],
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    progress: Progress | None = None,
    online_eta: float = 0.0,
) -> BacktestResult:
    """Expanding-window refits and day-ahead forecasts over [start, end] for every factory.

    With `online_eta` > 0 every forecaster's interval gets the daily job's online scale
    (online_calibration.simulate, reset at each refit) and the table keeps the static
    interval's coverage and pinball beside it.

    `prices` is every stored row up to `end` (the as-of cut): rows after `end` are
    ignored, so the last forecast made on `end` has no outcome and is not scored.
    """
    prices = prices.loc[pd.to_datetime(prices["date"]) <= pd.Timestamp(end)]
    folds = fold_schedule(start, end, retrain_every)
    forecasts = forecast_folds(
        prices, progress(folds) if progress is not None else folds, factories
    )
    rule = OnlineRule.for_quantiles(quantiles, online_eta)
    static, forecasts = forecasts, simulate(forecasts, rule)
    table = _score(forecasts, list(factories), quantiles)
    if rule.active:
        table = beside_static(table, _score(static, list(factories), quantiles))
    return BacktestResult(
        quantiles=tuple(quantiles),
        start=start,
        end=end,
        retrain_every=str(retrain_every),
        symbols=sorted(prices["symbol"].unique()),
        folds=folds,
        forecasters=list(factories),
        forecasts=forecasts,
        table=table,
    )


def forecast_folds(
    prices: pd.DataFrame, folds: Iterable[Fold], factories: Mapping[str, ForecasterFactory]
) -> pd.DataFrame:
    """Refit every factory at each fold start on the rows before it, forecast the fold's
    days, and join each forecast with its outcome (`forecaster` and `fold_start` added)."""
    prices = prices.sort_values(["symbol", "date"], ignore_index=True)
    dates = pd.to_datetime(prices["date"])
    parts: list[pd.DataFrame] = []
    for fold in folds:
        training = prices.loc[dates < pd.Timestamp(fold.start)]
        known = prices.loc[dates <= pd.Timestamp(fold.end)]
        for name, factory in factories.items():
            forecaster = factory(training, fold)
            forecasts = forecaster.predict_range(known, start=fold.start, end=fold.end)
            forecasts.insert(0, "forecaster", name)
            forecasts.insert(1, "fold_start", pd.Timestamp(fold.start))
            parts.append(forecasts)
    return attach_outcomes(pd.concat(parts, ignore_index=True), prices)


def baseline_factories(
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    held_out_months: int = 0,
    kinds: Sequence[str] = BASELINES,
    horizons: Sequence[int] = (1,),
    workers: int = 1,
) -> dict[str, ForecasterFactory]:
    """Persistence, drift and the volatility rivals given the network's treatment in
    each fold: fitted before its last `held_out_months` (the network's early-stopping
    months) and their interval recalibrated on those months. With 0 they fit every row,
    uncalibrated."""
    from market_predictor.training.fit import fit_baseline

    def factory(kind: str) -> ForecasterFactory:
        def fit(rows: pd.DataFrame, fold: Fold) -> Forecaster:
            held_out = fold_validation_start(rows, fold.start, held_out_months)
            return fit_baseline(kind, rows, quantiles, held_out, horizons, workers)

        return fit

    return {kind: factory(kind) for kind in kinds}


def network_factory(config: TrainConfig, horizons: Sequence[int] = (1,)) -> ForecasterFactory:
    """Fit the configured network on each fold's training rows, early-stopping on its
    last `validation_months` (held out from fitting, as in `mpp train`)."""
    from market_predictor.training.fit import fit_forecaster

    def fit(rows: pd.DataFrame, fold: Fold) -> Forecaster:
        validation_start = fold_validation_start(rows, fold.start, config.validation_months)
        return fit_forecaster(rows, config, validation_start=validation_start, horizons=horizons)

    return fit


def with_combined(
    factories: Mapping[str, ForecasterFactory],
    network: str,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    held_out_months: int = 0,
    horizons: Sequence[int] = (1,),
) -> dict[str, ForecasterFactory]:
    """`factories` plus the combined candidate: in each fold, the fold's network (the
    factory named `network`) and its best rival there, chosen on the fold's last
    `held_out_months` by the rule `mpp train` uses (training.fit.fit_combined). Each
    factory fits once per fold, so the combination is made of the very forecasters its
    neighbouring columns are."""
    from market_predictor.training.fit import fit_combined

    fitted: dict[str, Forecaster] = {}
    fold_of_fits: list[Fold] = []

    def once(name: str) -> ForecasterFactory:
        def fit(rows: pd.DataFrame, fold: Fold) -> Forecaster:
            if fold_of_fits != [fold]:  # a new fold: the last one's fits are done with
                fitted.clear()
                fold_of_fits[:] = [fold]
            if name not in fitted:
                fitted[name] = factories[name](rows, fold)
            return fitted[name]

        return fit

    shared = {name: once(name) for name in factories}

    def combined(rows: pd.DataFrame, fold: Fold) -> Forecaster:
        fits = {name: factory(rows, fold) for name, factory in shared.items()}
        rivals = {name: f for name, f in fits.items() if name != network}
        start = fold_validation_start(rows, fold.start, held_out_months)
        return fit_combined(fits[network], rivals, rows, start, fold.start, quantiles, horizons)

    return {**shared, COMBINED: combined}


def fold_validation_start(
    rows: pd.DataFrame, fold_start: dt.date, validation_months: int
) -> dt.date | None:
    """The early-stopping split, or None when holding it out would leave too few rows."""
    if validation_months <= 0:
        return None
    split = (pd.Timestamp(fold_start) - pd.DateOffset(months=validation_months)).date()
    before = rows.loc[pd.to_datetime(rows["date"]) < pd.Timestamp(split)]
    if usable_rows(before) < MIN_TRAINING_ROWS:
        return None
    return split


def backtest(
    settings: Settings,
    *,
    symbols: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    retrain_every: str = DEFAULT_RETRAIN_EVERY,
    model: str | None = None,
    max_epochs: int | None = None,
    config_overrides: Mapping[str, Any] | None = None,
    include_network: bool = True,
    progress: Progress | None = None,
) -> BacktestResult:
    """Walk-forward backtest of the configured network beside the configured rivals
    (persistence, drift, the volatility models and, with the network, the combined
    candidate) on stored prices, every interval recalibrated the same way.

    Defaults: the configured symbols that are stored, `end` = the last stored date,
    `start` = one year before `end`, refit every DEFAULT_RETRAIN_EVERY. Raises
    InputError (nothing is written anywhere) for a bad period, a reversed range, unknown
    symbols or networks, or too little history before `start`.
    """
    every = parse_retrain_every(retrain_every)
    check_range(start, end)
    config = None
    if include_network:
        config = merged_config(
            settings, model=model, max_epochs=max_epochs, overrides=config_overrides
        )
    span = pd.DateOffset(years=DEFAULT_SPAN_YEARS)
    window = config.window if config is not None else 0
    history = load_history(settings, symbols, start, end, walk_forward=WalkForward(span, window))

    quantiles = tuple(config.quantiles) if config is not None else DEFAULT_QUANTILES
    factories: dict[str, ForecasterFactory] = {}
    if config is not None:
        factories[config.model] = network_factory(config, settings.horizons)
    held_out = (config or merged_config(settings)).validation_months
    factories |= baseline_factories(
        quantiles,
        held_out,
        kinds=[kind for kind in settings.rivals if kind != COMBINED],
        horizons=settings.horizons,
        workers=settings.fit_workers,
    )
    if config is not None and COMBINED in settings.rivals:
        factories = with_combined(factories, config.model, quantiles, held_out, settings.horizons)
    result = walk_forward(
        history.prices,
        start=history.start,
        end=history.end,
        retrain_every=every,
        factories=factories,
        quantiles=quantiles,
        progress=progress,
        online_eta=settings.online_eta,
    )
    result.config = config.model_dump(mode="json") if config is not None else None
    return result


def _score(forecasts: pd.DataFrame, names: list[str], quantiles: Sequence[float]) -> pd.DataFrame:
    """Each forecaster's metrics per symbol (on its own forecasts) and ALL: pooled over
    the forecasts every forecaster makes at that horizon, so that a symbol too young
    for one forecaster's history does not weigh in the others' pooled figures alone."""
    shared = {int(horizon): _shared_keys(rows) for horizon, rows in forecasts.groupby("horizon")}
    tables = []
    for name in names:
        mine = forecasts[forecasts["forecaster"] == name]
        for horizon, rows in mine.groupby("horizon", sort=True):
            pooled = rows.merge(shared[int(horizon)], on=list(_KEYS))
            table = metrics_table(rows, by="symbol", quantiles=quantiles, pooled=pooled)
            table.insert(0, "forecaster", name)
            table.insert(1, "horizon", int(horizon))
            tables.append(table)
    return pd.concat(tables, ignore_index=True)


_KEYS = ("symbol", "as_of_date")


def _shared_keys(rows: pd.DataFrame) -> pd.DataFrame:
    """The (symbol, as-of date) pairs every forecaster in `rows` forecasts."""
    counts = rows.groupby(list(_KEYS))["forecaster"].nunique()
    everyone = rows["forecaster"].nunique()
    return counts[counts == everyone].index.to_frame(index=False)
