from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from market_predictor.errors import InputError
from market_predictor.sources import get_source
from tests.fixtures.data import write_long_csv


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["aapl", "aapl", "msft"],
            "date": ["2024-01-02", "2024-01-03", "2024-01-02"],
            "open": [10.0, 11.0, 20.0],
            "high": [12.0, 12.0, 21.0],
            "low": [9.0, 10.0, 19.0],
            "close": [11.0, 11.5, 20.5],
            "volume": [100, 200, 300],
        }
    )


def test_csv_rows_come_back_upper_cased_and_typed(tmp_path: Path) -> None:
    path = write_long_csv(tmp_path / "p.csv", _rows())
    frame = get_source("csv", path).fetch(["AAPL", "MSFT"], None, None)
    assert list(frame["symbol"]) == ["AAPL", "AAPL", "MSFT"]
    assert frame["date"].dtype == "datetime64[ns]"
    assert frame["volume"].dtype == "float64"
    assert not frame["adjusted"].any()


def test_csv_headers_match_case_insensitively_and_adj_close_adjusts(tmp_path: Path) -> None:
    rows = _rows().rename(columns=str.title).assign(**{"Adj Close": [5.5, 5.75, 20.5]})
    path = write_long_csv(tmp_path / "p.csv", rows.rename(columns={"Date": "date"}))
    frame = get_source("csv", path).fetch(["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 2))
    assert frame.iloc[0]["close"] == pytest.approx(5.5)
    assert frame.iloc[0]["open"] == pytest.approx(5.0)
    assert frame.iloc[0]["adjusted"]


def test_csv_missing_column_error_names_the_column(tmp_path: Path) -> None:
    path = write_long_csv(tmp_path / "p.csv", _rows().drop(columns=["volume"]))
    with pytest.raises(InputError, match="lacks column volume"):
        get_source("csv", path).fetch(["AAPL"], None, None)


def test_csv_non_numeric_price_error_names_row_and_column(tmp_path: Path) -> None:
    rows = _rows().astype({"close": "object"})
    rows.loc[1, "close"] = "twelve"
    path = write_long_csv(tmp_path / "p.csv", rows)
    with pytest.raises(InputError, match=r"row 3: close 'twelve' is not a number"):
        get_source("csv", path).fetch(["AAPL"], None, None)


def test_csv_malformed_date_error_names_the_row(tmp_path: Path) -> None:
    rows = _rows()
    rows.loc[2, "date"] = "02/30/2024x"
    path = write_long_csv(tmp_path / "p.csv", rows)
    with pytest.raises(InputError, match="row 4: malformed date"):
        get_source("csv", path).fetch(["AAPL"], None, None)


def test_csv_symbol_with_path_characters_is_refused(tmp_path: Path) -> None:
    rows = _rows()
    rows.loc[0, "symbol"] = "../x"
    path = write_long_csv(tmp_path / "p.csv", rows)
    with pytest.raises(InputError, match="invalid symbol"):
        get_source("csv", path).fetch(["MSFT"], None, None)


def test_empty_price_cell_is_kept_as_missing_for_validation(tmp_path: Path) -> None:
    rows = _rows().astype({"open": "object"})
    rows.loc[0, "open"] = None
    path = write_long_csv(tmp_path / "p.csv", rows)
    frame = get_source("csv", path).fetch(["AAPL"], None, None)
    assert np.isnan(frame.iloc[0]["open"])


def test_file_sources_need_an_existing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs a path"):
        get_source("csv")
    with pytest.raises(InputError, match="does not exist"):
        get_source("parquet", tmp_path / "nope.parquet")


def test_parquet_reads_only_requested_symbols_and_dates(tmp_path: Path) -> None:
    rows = _rows().assign(symbol=["AAPL", "AAPL", "MSFT"], date=pd.to_datetime(_rows()["date"]))
    path = tmp_path / "p.parquet"
    rows.to_parquet(path, index=False)
    frame = get_source("parquet", path).fetch(["AAPL"], dt.date(2024, 1, 3), None)
    assert list(frame["symbol"]) == ["AAPL"]
    assert frame.iloc[0]["date"] == pd.Timestamp("2024-01-03")
    assert frame.iloc[0]["close"] == 11.5


def test_parquet_with_tz_aware_timestamps_keeps_the_local_trading_date(tmp_path: Path) -> None:
    stamps = pd.to_datetime(["2024-01-02 09:30", "2024-01-03 09:30"]).tz_localize(
        "America/New_York"
    )
    rows = _rows().head(2).assign(symbol="AAPL", date=stamps)
    path = tmp_path / "p.parquet"
    rows.to_parquet(path, index=False)
    frame = get_source("parquet", path).fetch(["AAPL"], None, dt.date(2024, 1, 2))
    assert list(frame["date"]) == [pd.Timestamp("2024-01-02")]


def test_symbol_absent_from_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    path = write_long_csv(tmp_path / "p.csv", _rows())
    with pytest.raises(InputError, match="no prices for IBM"):
        get_source("csv", path).fetch(["AAPL", "IBM"], None, None)


# -- bad files are input errors (exit 2), named in one line ---------------------------

HEADER = "symbol,date,open,high,low,close,volume\n"


def _fetch(path: Path) -> pd.DataFrame:
    return get_source("csv", path).fetch(["AAPL"], None, None)


def test_a_csv_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "AAPL,2012-12-03,1,2,0.5,1.5,100 caf\xe9\n").encode("latin-1"))
    with pytest.raises(InputError, match=r"latin.csv: not UTF-8 text \(byte 0xe9\)"):
        _fetch(path)


def test_a_binary_file_given_as_csv_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    with pytest.raises(InputError, match="not UTF-8"):
        _fetch(path)


@pytest.mark.parametrize("day", ["1677-09-21", "2262-04-12", "1600-01-03", "2300-01-03"])
def test_dates_the_store_cannot_hold_are_refused_with_their_row(tmp_path: Path, day: str) -> None:
    path = tmp_path / "far.csv"
    path.write_text(HEADER + "AAPL,2012-12-03,1,2,0.5,1.5,100\n" + f"AAPL,{day},1,2,0.5,1.5,100\n")
    with pytest.raises(InputError, match=f"far.csv row 3: date '{day}' is outside"):
        _fetch(path)


@pytest.mark.parametrize("day", ["1677-09-22", "2262-04-11"])
def test_the_first_and_last_storable_days_are_accepted(tmp_path: Path, day: str) -> None:
    path = tmp_path / "edge.csv"
    path.write_text(HEADER + f"AAPL,{day},1,2,0.5,1.5,100\n")
    assert _fetch(path)["date"].dt.date.astype(str).tolist() == [day]


def test_rows_with_different_utc_offsets_keep_their_own_wall_dates(tmp_path: Path) -> None:
    # A New York series across the daylight-saving switch: -05:00, then -04:00.
    path = tmp_path / "dst.csv"
    path.write_text(
        HEADER
        + "AAPL,2012-03-09 00:00:00-05:00,1,2,0.5,1.5,100\n"
        + "AAPL,2012-03-12 00:00:00-04:00,1,2,0.5,1.5,100\n"
        + "AAPL,2012-03-13T23:30:00+0900,1,2,0.5,1.5,100\n"
    )
    dates = _fetch(path)["date"].dt.date.astype(str).tolist()
    assert dates == ["2012-03-09", "2012-03-12", "2012-03-13"]


def test_a_directory_given_as_path_is_named_as_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory, not a file"):
        get_source("csv", tmp_path)


def test_fetches_reusing_one_read_return_what_fresh_reads_return(tmp_path: Path) -> None:
    from market_predictor.reuse import across_days

    path = tmp_path / "p.parquet"
    _rows().assign(date=lambda f: pd.to_datetime(f["date"])).to_parquet(path, index=False)
    source = get_source("parquet", path)
    asks = [
        (["AAPL"], None, None),
        (["AAPL", "MSFT"], dt.date(2024, 1, 2), None),
        (["AAPL"], dt.date(2024, 1, 3), None),
        (["MSFT"], None, dt.date(2024, 1, 2)),
    ]
    fresh = [source.fetch(*ask) for ask in asks]
    with across_days():
        kept = [source.fetch(*ask) for ask in asks]
    for one, other in zip(fresh, kept, strict=True):
        pd.testing.assert_frame_equal(one, other, check_exact=True)


def test_a_file_changed_while_reads_are_reused_is_read_again(tmp_path: Path) -> None:
    from market_predictor.reuse import across_days

    path = tmp_path / "p.parquet"
    _rows().to_parquet(path, index=False)
    source = get_source("parquet", path)
    with across_days():
        before = source.fetch(["AAPL"], None, None)
        _rows().assign(close=lambda f: f["close"] + 0.25).to_parquet(path, index=False)
        after = source.fetch(["AAPL"], None, None)
    assert (after["close"].to_numpy() == before["close"].to_numpy() + 0.25).all()
