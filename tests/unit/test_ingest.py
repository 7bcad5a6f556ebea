from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.ingest import ingest_prices
from market_predictor.store import FeatureStore
from tests.fixtures.data import price_rows, write_long_csv

JAN_15 = dt.date(2013, 1, 15)


def _store(settings: Settings) -> FeatureStore:
    return FeatureStore.from_settings(settings)


def test_full_history_loads_when_nothing_is_stored(settings: Settings) -> None:
    summary = ingest_prices(settings, symbols=["AAPL", "GOOG"], source="sample", as_of=JAN_15)
    stored = _store(settings).prices().read()
    assert summary.inserted == len(stored) == summary.fetched
    assert stored.groupby("symbol")["date"].min().to_dict() == {
        "AAPL": pd.Timestamp("2000-03-01"),
        "GOOG": pd.Timestamp("2004-08-19"),
    }
    assert stored["date"].max() == pd.Timestamp(JAN_15)
    assert set(stored["source"]) == {"sample"}


def test_reingesting_same_range_three_times_leaves_row_count_unchanged(
    settings: Settings,
) -> None:
    arguments = {
        "symbols": ["AAPL", "MSFT"],
        "source": "sample",
        "start": dt.date(2012, 1, 1),
        "end": dt.date(2012, 12, 31),
        "as_of": JAN_15,
    }
    first = ingest_prices(settings, **arguments)
    again = [ingest_prices(settings, **arguments) for _ in range(2)]
    stored = _store(settings).prices().read()
    assert len(stored) == first.inserted == 2 * 250
    assert not stored.duplicated(["symbol", "date"]).any()
    assert all(s.inserted == 0 and s.updated == 0 and s.unchanged == 500 for s in again)


def test_incremental_ingest_resumes_a_few_trading_days_before_the_last_row(
    settings: Settings,
) -> None:
    ingest_prices(settings, symbols=["IBM"], source="sample", as_of=dt.date(2013, 2, 15))
    summary = ingest_prices(settings, symbols=["IBM"], source="sample", as_of=dt.date(2013, 2, 22))
    overlap = settings.ingest_overlap_days
    assert summary.start is None
    assert summary.unchanged == overlap + 1  # the last stored day and the overlap before it
    assert summary.inserted == 4  # 2013-02-19..22 (18th was a holiday)
    assert _store(settings).prices().last_dates(["IBM"]) == {"IBM": dt.date(2013, 2, 22)}


def test_restated_history_overwrites_in_place_and_time_travel_keeps_the_old_value(
    settings: Settings, tmp_path: Path
) -> None:
    rows = price_rows("AAPL", days=3)
    original = write_long_csv(tmp_path / "a.csv", rows.drop(columns="adjusted"))
    first = ingest_prices(settings, symbols=["AAPL"], source="csv", path=original, as_of=JAN_15)
    restated_rows = rows.drop(columns="adjusted")
    restated_rows.loc[1, ["low", "close"]] = restated_rows.loc[1, ["low", "close"]] * 0.99
    restated = write_long_csv(tmp_path / "b.csv", restated_rows)
    second = ingest_prices(settings, symbols=["AAPL"], source="csv", path=restated, as_of=JAN_15)
    assert (second.inserted, second.updated, second.unchanged) == (0, 1, 2)
    prices = _store(settings).prices()
    now = prices.read()
    before = prices.read(table_version=first.table_version)
    assert len(now) == 3
    assert now.loc[1, "close"] == pytest.approx(rows.loc[1, "close"] * 0.99)
    assert before.loc[1, "close"] == pytest.approx(rows.loc[1, "close"])


def test_rows_after_as_of_are_quarantined_not_loaded(settings: Settings) -> None:
    summary = ingest_prices(
        settings,
        symbols=["MSFT"],
        source="sample",
        start=dt.date(2013, 1, 10),
        end=dt.date(2013, 1, 18),
        as_of=JAN_15,
    )
    assert summary.quarantine_reasons == {"future date": 3}
    assert _store(settings).prices().read()["date"].max() == pd.Timestamp(JAN_15)
    quarantine = _store(settings).quarantine.read()
    assert set(quarantine["reason"]) == {"future date"}
    assert len(quarantine) == 3


def test_quarantine_is_idempotent_and_bad_rows_do_not_block_good_ones(
    settings: Settings, tmp_path: Path
) -> None:
    rows = price_rows("AAPL", days=4).drop(columns="adjusted")
    rows.loc[0, "close"] = -1.0
    rows.loc[2, "volume"] = -5.0
    path = write_long_csv(tmp_path / "p.csv", rows)
    for _ in range(2):
        summary = ingest_prices(
            settings,
            symbols=["AAPL"],
            source="csv",
            path=path,
            start=dt.date(2013, 1, 1),
            as_of=JAN_15,
        )
    assert summary.quarantine_reasons == {"non-positive price": 1, "negative volume": 1}
    assert len(_store(settings).prices().read()) == 2
    assert len(_store(settings).quarantine.read()) == 2


def test_symbols_default_to_settings(settings: Settings) -> None:
    summary = ingest_prices(settings, source="sample", start=dt.date(2013, 1, 2), as_of=JAN_15)
    assert summary.symbols == ["AAPL", "MSFT", "IBM", "GOOG"]


def test_summary_dict_has_the_documented_keys(settings: Settings) -> None:
    summary = ingest_prices(
        settings, symbols="aapl", source="sample", start=dt.date(2013, 1, 2), as_of=JAN_15
    ).model_dump(mode="json")
    assert set(summary) == {
        "source",
        "symbols",
        "start",
        "end",
        "fetched",
        "inserted",
        "updated",
        "unchanged",
        "quarantined",
        "table_version",
        "feature_group_version",
        "quarantine_reasons",
    }
    assert summary["start"] == "2013-01-02"
    assert summary["end"] == "2013-01-15"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"source": "bloomberg"}, "unknown source"),
        ({"start": dt.date(2013, 2, 1), "end": dt.date(2013, 1, 1)}, "after end"),
        ({"symbols": ["../x"]}, "invalid symbol"),
        ({"symbols": ["a/b"]}, "invalid symbol"),
        ({"symbols": ["ABCDEFGHIJKLMNOP"]}, "invalid symbol"),
        ({"start": dt.date(2020, 1, 1), "end": dt.date(2020, 2, 1)}, "no prices"),
        ({"feature_group_version": 0}, "feature group version"),
    ],
)
def test_bad_input_raises_input_error_and_writes_nothing(
    settings: Settings, arguments: dict[str, object], message: str
) -> None:
    call = {"symbols": ["AAPL"], "source": "sample", "as_of": JAN_15, **arguments}
    with pytest.raises(InputError, match=message):
        ingest_prices(settings, **call)  # type: ignore[arg-type]
    assert not (settings.resolved_home / "store" / "feature_groups").exists()


def test_unwritable_store_uri_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = Settings(store_uri=str(blocker / "store"))
    with pytest.raises(InputError, match="not writable"):
        ingest_prices(settings, symbols=["AAPL"], source="sample", as_of=JAN_15)
