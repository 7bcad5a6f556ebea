"""Arrow schemas of every table in the store: the data contracts in design.md."""

from __future__ import annotations

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")

PRICE_KEY = ("symbol", "date")
PRICE_VALUES = ("open", "high", "low", "close", "volume")

PRICES = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("open", pa.float64()),
        pa.field("high", pa.float64()),
        pa.field("low", pa.float64()),
        pa.field("close", pa.float64()),
        pa.field("volume", pa.float64()),
        pa.field("source", pa.string()),
        pa.field("ingested_at", UTC_TS),
    ]
)

PRICE_DESCRIPTIONS = {
    "symbol": "Ticker, upper case (AAPL, BRK-B, ^GSPC, ES=F).",
    "date": "Trading day, exchange-local.",
    "open": "Opening price, split- and dividend-adjusted.",
    "high": "Session high, adjusted like open.",
    "low": "Session low, adjusted like open.",
    "close": "Closing price, split- and dividend-adjusted.",
    "volume": "Shares traded.",
    "source": "Where the row came from (yfinance, sample, csv, parquet).",
    "ingested_at": "When this row version was written (UTC).",
}

QUARANTINE = pa.schema(
    [
        pa.field("symbol", pa.string()),
        pa.field("date", pa.date32()),
        pa.field("open", pa.float64()),
        pa.field("high", pa.float64()),
        pa.field("low", pa.float64()),
        pa.field("close", pa.float64()),
        pa.field("volume", pa.float64()),
        pa.field("source", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("quarantined_at", UTC_TS),
    ]
)

FEATURE_STATISTICS = pa.schema(
    [
        pa.field("symbol", pa.string()),
        pa.field("feature", pa.string()),
        pa.field("description", pa.string()),
        pa.field("count", pa.int64()),
        pa.field("min", pa.float64()),
        pa.field("max", pa.float64()),
        pa.field("mean", pa.float64()),
        pa.field("missing_rate", pa.float64()),
        pa.field("first_date", pa.date32()),
        pa.field("last_date", pa.date32()),
        pa.field("table_version", pa.int64()),
        pa.field("updated_at", UTC_TS),
    ]
)

DATASETS = pa.schema(
    [
        pa.field("name", pa.string()),
        pa.field("version", pa.int64()),
        pa.field("feature_group", pa.string()),
        pa.field("feature_group_version", pa.int64()),
        pa.field("table_version", pa.int64()),
        pa.field("start", pa.date32()),
        pa.field("end", pa.date32()),
        pa.field("symbols", pa.string()),
        pa.field("row_count", pa.int64()),
        pa.field("content_hash", pa.string()),
        pa.field("uri", pa.string()),
        pa.field("created_at", UTC_TS),
    ]
)

PREDICTION_KEY = ("symbol", "as_of_date", "target_date", "model_name", "model_version")

PREDICTIONS = pa.schema(
    [
        pa.field("symbol", pa.string()),
        pa.field("as_of_date", pa.date32()),
        pa.field("target_date", pa.date32()),
        pa.field("model_name", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("last_close", pa.float64()),
        pa.field("predicted_close", pa.float64()),
        pa.field("lower", pa.float64()),
        pa.field("upper", pa.float64()),
        pa.field("predicted_return", pa.float64()),
        pa.field("run_id", pa.string()),
        pa.field("created_at", UTC_TS),
    ]
)

ERROR_KEY = ("symbol", "target_date", "model_name", "model_version")

ERRORS = pa.schema(
    [
        pa.field("symbol", pa.string()),
        pa.field("target_date", pa.date32()),
        pa.field("as_of_date", pa.date32()),
        pa.field("model_name", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("actual_close", pa.float64()),
        pa.field("predicted_close", pa.float64()),
        pa.field("lower", pa.float64()),
        pa.field("upper", pa.float64()),
        pa.field("last_close", pa.float64()),
        pa.field("abs_error", pa.float64()),
        pa.field("pct_error", pa.float64()),
        pa.field("persistence_abs_error", pa.float64()),
        pa.field("inside_interval", pa.bool_()),
        pa.field("direction_correct", pa.bool_()),
        pa.field("created_at", UTC_TS),
    ]
)

SUMMARY_KEY = ("date", "symbol")

SUMMARY = pa.schema(
    [
        pa.field("date", pa.date32()),
        pa.field("symbol", pa.string()),
        pa.field("model_name", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("window", pa.int64()),
        pa.field("n", pa.int64()),
        pa.field("mae", pa.float64()),
        pa.field("persistence_mae", pa.float64()),
        pa.field("mase", pa.float64()),
        pa.field("coverage", pa.float64()),
        pa.field("directional_accuracy", pa.float64()),
        pa.field("test", pa.string()),
        pa.field("statistic", pa.float64()),
        pa.field("threshold", pa.string()),
        pa.field("test_window", pa.int64()),
        pa.field("p_value", pa.float64()),
        pa.field("tests", pa.string()),  # JSON: every test of the row's symbol and day
        pa.field("retrain_recommended", pa.bool_()),
        pa.field("reason", pa.string()),
        pa.field("created_at", UTC_TS),
    ]
)
