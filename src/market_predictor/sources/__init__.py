"""Price sources behind one interface: every source returns the same frame shape
(see `base.PriceSource`), so ingestion never knows where prices came from."""

from __future__ import annotations

from pathlib import Path

from market_predictor.errors import InputError
from market_predictor.sources.base import FRAME_COLUMNS, PriceSource

SOURCE_NAMES = ("yfinance", "sample", "csv", "parquet")

__all__ = ["FRAME_COLUMNS", "SOURCE_NAMES", "PriceSource", "get_source"]


def get_source(name: str, path: Path | None = None, interval: str = "1d") -> PriceSource:
    """The source called `name`; csv and parquet read `path`. InputError when the name is
    unknown, a file source has no path (or the path is not a file), or the interval is
    not daily."""
    key = name.strip().lower()
    if key not in SOURCE_NAMES:
        raise InputError(f"unknown source {name!r}: use one of {', '.join(SOURCE_NAMES)}")
    if key != "yfinance" and interval != "1d":
        raise InputError(f"interval {interval!r} is not supported: daily bars (1d) only")
    if key == "yfinance":
        from market_predictor.sources.yahoo import YahooSource

        return YahooSource(interval=interval)
    if key == "sample":
        from market_predictor.sources.sample import SampleSource

        return SampleSource()
    if path is None:
        raise InputError(f"the {key} source needs a path to a {key} file", param="path")
    file = Path(path).expanduser()
    if file.is_dir():
        raise InputError(f"{key} path {str(file)!r} is a directory, not a file")
    if not file.is_file():
        raise InputError(f"{key} file {str(file)!r} does not exist")
    from market_predictor.sources.files import FileSource

    return FileSource(key, file)
