"""The day a pipeline stage works on, resolved once by the entry point that runs it.

`resolve_day` is the one place where the as-of date gets its default and its checks
(not in the future; a champion trained on data no later than it), where the symbols
default to MPP_SYMBOLS, and where the store and the champion are opened. Every stage
(ingest, predict, monitor, retrain, compact) takes the resulting `Day` and never
defaults or re-checks any of it, so a CLI command, the daily job, a replay day and an
Airflow task all run a stage on exactly the same inputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

from market_predictor import calendar
from market_predictor.checks import check_not_future
from market_predictor.config import Settings
from market_predictor.errors import InputError, NotFoundError
from market_predictor.store import FeatureStore
from market_predictor.symbols import checked_symbols

if TYPE_CHECKING:
    from market_predictor.registry import ChampionModel


class _AllSymbols:
    def __repr__(self) -> str:
        return "ALL_SYMBOLS"


# Symbols argument meaning "every symbol the tables hold" (`mpp monitor` without
# --symbols), as opposed to None, "the configured MPP_SYMBOLS".
ALL_SYMBOLS: Final = _AllSymbols()
AsOfDefault = Literal["latest_trading_day", "latest_stored"]
# What the day is for decides what of the champion it needs: a forecast needs one that
# saw no data after the as-of date; monitoring uses one if there is one (for its drift
# reference); an ingest needs none.
Purpose = Literal["forecast", "monitor", "ingest"]


@dataclass(frozen=True)
class Day:
    settings: Settings
    store: FeatureStore
    as_of: dt.date
    # None only for ALL_SYMBOLS: every symbol the tables hold.
    symbols: tuple[str, ...] | None
    model_name: str
    champion: ChampionModel | None

    @property
    def wanted(self) -> list[str]:
        """The day's symbols (a stage that needs a list: ingest, predict, retrain)."""
        if self.symbols is None:
            raise InputError("this step needs a list of symbols")
        return list(self.symbols)

    @property
    def serving(self) -> ChampionModel:
        """The champion that forecasts this day (resolve_day checked it exists)."""
        if self.champion is None:
            raise NotFoundError(
                f"no champion registered for {self.model_name!r}: run `mpp train` first"
            )
        return self.champion

    def for_symbols(self, symbols: Sequence[str]) -> Day:
        """The same day for a subset of its symbols (the ones a step could handle)."""
        return replace(self, symbols=tuple(checked_symbols(symbols)) if symbols else ())

    def with_champion(self, champion: ChampionModel) -> Day:
        """The same day served by another champion (a retrain promoted one)."""
        check_no_look_ahead(champion, self.as_of)
        return replace(self, champion=champion, model_name=champion.name)

    def is_trading_day(self) -> bool:
        return calendar.is_trading_day(self.as_of, self.settings.calendar)


def resolve_day(
    settings: Settings,
    *,
    as_of: dt.date | None = None,
    symbols: str | Iterable[str] | _AllSymbols | None = None,
    model_name: str | None = None,
    champion: ChampionModel | None = None,
    default_as_of: AsOfDefault = "latest_trading_day",
    purpose: Purpose = "forecast",
) -> Day:
    """The day every stage of one run works on; InputError (nothing written) for bad
    input.

    - symbols: None means MPP_SYMBOLS, ALL_SYMBOLS every symbol the tables hold.
    - as_of: None means the calendar's latest trading day (the daily job, which then
      ingests it) or, with `default_as_of="latest_stored"`, the newest stored price of
      the symbols (`mpp predict` / `mpp monitor` on what is stored).
    - champion: loaded from the registry unless given (a replay passes the one it
      follows), as the `purpose` needs it (see Purpose).
    """
    store = FeatureStore.from_settings(settings)
    wanted = resolve_symbols(settings, symbols)
    check_not_future(as_of)
    if as_of is None:
        as_of = _default_as_of(settings, store, wanted, default_as_of)
    name = model_name or (champion.name if champion is not None else settings.model_name)
    if champion is None and purpose != "ingest":
        champion = _load_champion(settings, name, required=purpose == "forecast")
    if purpose == "forecast" and champion is not None and _trained_after(champion, as_of):
        # The more useful message first: there is nothing to forecast from at all.
        _check_prices_by(store, wanted, as_of)
        check_no_look_ahead(champion, as_of)
    return Day(
        settings=settings,
        store=store,
        as_of=as_of,
        symbols=None if wanted is None else tuple(wanted),
        model_name=name,
        champion=champion,
    )


def resolve_symbols(
    settings: Settings, symbols: str | Iterable[str] | _AllSymbols | None
) -> list[str] | None:
    """The symbols a run works on: as given (checked), MPP_SYMBOLS for None, and None for
    ALL_SYMBOLS."""
    if isinstance(symbols, _AllSymbols):
        return None
    return checked_symbols(symbols if symbols is not None else settings.symbols)


def check_no_look_ahead(champion: ChampionModel, as_of: dt.date) -> None:
    """A model trained on rows after `as_of` cannot honestly forecast from `as_of`."""
    if _trained_after(champion, as_of):
        raise InputError(
            f"the champion (v{champion.version}) was trained on data up to "
            f"{champion.trained_until}, after the as-of date {as_of}: forecasting that day "
            "would use the future; train a model on data ending earlier first"
        )


def _trained_after(champion: ChampionModel, as_of: dt.date) -> bool:
    return champion.trained_until is not None and champion.trained_until > as_of


def _check_prices_by(store: FeatureStore, symbols: list[str] | None, as_of: dt.date) -> None:
    held = store.prices().read(symbols=symbols, end=as_of, columns=["symbol"])
    if held.empty:
        named = "" if symbols is None else f" of {', '.join(symbols)}"
        raise InputError(f"as-of date {as_of} is before any stored prices{named}")


def latest_stored_date(store: FeatureStore, symbols: list[str] | None) -> dt.date:
    """The newest stored price date of `symbols` (None: of any symbol)."""
    last = store.prices().last_dates(symbols)
    if not last:
        if symbols is None:
            raise InputError("no prices in the store: run `mpp ingest` first")
        raise InputError(f"no prices stored for {', '.join(symbols)}: run `mpp ingest` first")
    return max(last.values())


def _default_as_of(
    settings: Settings, store: FeatureStore, symbols: list[str] | None, default: AsOfDefault
) -> dt.date:
    if default == "latest_stored":
        return latest_stored_date(store, symbols)
    return calendar.latest_trading_day(dt.date.today(), settings.calendar)


def _load_champion(settings: Settings, name: str, *, required: bool) -> ChampionModel | None:
    from market_predictor.registry import load_champion

    try:
        return load_champion(settings, name)
    except NotFoundError:
        if required:
            raise
        return None  # predictions without a champion: skill is measurable, drift is not
