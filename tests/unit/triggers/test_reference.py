"""The drift reference a model stores: what it profiles and measures (through the stored
dict every registered model holds), and that every stored shape reads back."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from market_predictor.features import build_features
from market_predictor.triggers.drift import DRIFT_INPUTS, STRIDE, Bins, chi_square
from market_predictor.triggers.reference import (
    REFERENCE_VERSION,
    DriftReference,
    build_reference,
    drift_reference,
)
from market_predictor.triggers.scale import SCALE_WINDOW, ScaleNull
from tests.unit.triggers.data import bars, model_features

# The keys of a stored reference, in the order every registered model since issue 9
# has them (the scale null since the scale test, the dispersion since the second-order
# drift null).
STORED_KEYS = [
    "version",
    "inputs",
    "window",
    "reference_days",
    "symbols",
    "pooled",
    "inflation",
    "dispersion",
    "scale",
    "first_date",
    "last_date",
]


def test_the_reference_covers_recent_training_years_and_measures_its_own_null(
    history: np.ndarray,
) -> None:
    reference = drift_reference(build_features(bars(history[:1200], "AAA")))
    assert reference["reference_days"] == 504
    assert pd.Timestamp(reference["first_date"]) > pd.Timestamp("2010-01-04") + pd.Timedelta(
        days=365
    )
    assert set(reference["symbols"]) == {"AAA"}
    # Overlapping volatility ratios are serially dependent: their null is inflated.
    assert reference["inflation"]["volatility_ratio"] > reference["inflation"]["return_z"]
    assert min(reference["inflation"].values()) >= 1.0


def test_a_symbol_needs_two_windows_of_rows_to_get_a_profile() -> None:
    window = 5
    features = pd.concat(
        [
            model_features("AAA", return_z=np.arange(2.0 * window)),
            model_features("BBB", return_z=np.arange(2.0 * window - 1)),
        ]
    )
    reference = drift_reference(features, reference_days=100, window=window)
    assert set(reference["symbols"]) == {"AAA"}
    assert set(reference["scale"]["symbols"]) == {"AAA"}
    short = model_features("BBB", return_z=np.arange(2.0 * window - 1))
    assert drift_reference(short, reference_days=100, window=window) == {}


def test_the_reference_profiles_only_each_symbols_last_reference_days() -> None:
    old, recent = np.full(10, 100.0), np.arange(10.0) / 10
    features = model_features("AAA", return_z=np.concatenate([old, recent]))
    reference = drift_reference(features, reference_days=10, window=5)
    edges = reference["symbols"]["AAA"]["return_z"]["edges"]
    assert edges and max(edges) < 1.0
    first_recent = features["date"].iloc[1 + old.size]  # after the dropped leading row
    assert reference["first_date"] == first_recent.date().isoformat()
    assert reference["last_date"] == features["date"].iloc[-1].date().isoformat()
    # Too few recent rows for two windows: nothing to profile, whatever came before.
    assert drift_reference(features, reference_days=9, window=5) == {}


def test_each_symbol_gets_its_own_bins_and_new_symbols_the_pooled_ones() -> None:
    low, high = np.arange(10.0) / 10, 100 + np.arange(10.0) / 10
    features = pd.concat(
        [model_features("LOW", return_z=low), model_features("HIGH", return_z=high)]
    )
    reference = drift_reference(features, reference_days=100, window=5)
    assert max(reference["symbols"]["LOW"]["return_z"]["edges"]) < 1.0
    assert min(reference["symbols"]["HIGH"]["return_z"]["edges"]) > 100.0
    pooled = reference["pooled"]["return_z"]["edges"]
    assert min(pooled) < 1.0 and max(pooled) > 100.0


def test_windows_matching_their_profile_leave_the_chi_square_null_uninflated() -> None:
    # Every 5-day window holds each of 0..4 once, the profile's own mix: statistic 0.
    periodic = np.tile(np.arange(5.0), 4)
    inputs = dict.fromkeys(DRIFT_INPUTS, periodic)
    reference = drift_reference(model_features("AAA", **inputs), reference_days=100, window=5)
    assert reference["inflation"] == dict.fromkeys(DRIFT_INPUTS, 1.0)


def test_inflation_is_the_mean_window_statistic_per_degree_of_freedom_over_all_symbols() -> None:
    window = 5
    steps = 3
    # A rise then a plateau: windows far from the whole's mix, the last one farthest.
    trend = np.concatenate([np.arange(float(steps * STRIDE)), np.full(window, 100.0)])
    periodic = np.tile(np.arange(5.0), trend.size // 5 + 1)[: trend.size]
    features = pd.concat(
        [model_features("TREND", return_z=trend), model_features("FLAT", return_z=periodic)]
    )
    reference = drift_reference(features, reference_days=100, window=window)
    profile = reference["symbols"]["TREND"]["return_z"]
    edges, fractions = np.asarray(profile["edges"]), np.asarray(profile["fractions"])
    # Windows every STRIDE rows, the last one ending on the last row.
    starts = [step * STRIDE for step in range(steps + 1)]
    trend_ratios = [
        chi_square(trend[s : s + window], edges, fractions) / edges.size for s in starts
    ]
    flat = reference["symbols"]["FLAT"]["return_z"]
    flat_ratios = [
        chi_square(
            periodic[s : s + window], np.asarray(flat["edges"]), np.asarray(flat["fractions"])
        )
        / len(flat["edges"])
        for s in starts
    ]
    assert np.mean(trend_ratios) != np.mean(trend_ratios[:-1])  # the last one counts
    assert reference["inflation"]["return_z"] == pytest.approx(np.mean(trend_ratios + flat_ratios))
    assert reference["inflation"]["return_z"] > 1.0


def test_the_reference_measures_a_scale_null_per_symbol_and_pooled() -> None:
    days = 20
    features = pd.concat(
        [
            model_features("ONE", range_z=np.ones(days)),
            model_features("E2", range_z=np.full(days, np.exp(2.0))),
            model_features("SHORT", range_z=np.full(9, 1e6)),  # too short to profile: left out
        ]
    )
    scale = drift_reference(features, reference_days=100, window=5)["scale"]
    assert scale["symbols"]["ONE"] == {"mean": pytest.approx(0.0), "sd": 0.0}
    assert scale["symbols"]["E2"] == {"mean": pytest.approx(2.0), "sd": pytest.approx(0.0)}
    weeks = 2 * (days - SCALE_WINDOW + 1)  # log means 0 and 2, half each
    assert scale["pooled"]["mean"] == pytest.approx(1.0)
    assert scale["pooled"]["sd"] == pytest.approx(np.sqrt(weeks / (weeks - 1)))


def test_serially_dependent_inputs_have_a_null_wider_than_chi_square(history: np.ndarray) -> None:
    reference = drift_reference(build_features(bars(history[:1200], "AAA")))
    chi_square_dispersion = 2 / 4  # variance of chi2(4) / 4 per degree of freedom squared
    # Overlapping 5/21-day volatility ratios and clustered ranges repeat across days.
    assert reference["dispersion"]["volatility_ratio"] > 2 * chi_square_dispersion
    assert reference["dispersion"]["range_z"] > 2 * chi_square_dispersion


def test_a_short_symbol_does_not_stop_the_profiling_of_the_symbols_after_it() -> None:
    features = pd.concat(
        [
            model_features("SHORT", return_z=np.arange(9.0)),
            model_features("LONG", return_z=np.arange(10.0)),
        ]
    )
    reference = drift_reference(features, reference_days=100, window=5)
    assert set(reference["symbols"]) == {"LONG"}


def _window_ratios(values: np.ndarray, profile: dict, window: int) -> list[float]:
    """Each full window's chi-square per degree of freedom (one per bin edge), every
    STRIDE rows."""
    edges, fractions = np.asarray(profile["edges"]), np.asarray(profile["fractions"])
    return [
        chi_square(values[start : start + window], edges, fractions) / edges.size
        for start in range(0, values.size - window + 1, STRIDE)
    ]


def test_the_reference_stores_the_sample_variance_of_its_window_statistics() -> None:
    window = 5
    values = np.array([0.0, 1, 2, 3, 4, 9, 9, 9, 8, 7, 5, 5, 6, 6, 6])  # three windows
    reference = drift_reference(
        model_features("AAA", return_z=values), reference_days=100, window=5
    )
    ratios = _window_ratios(values, reference["symbols"]["AAA"]["return_z"], window)
    assert len(ratios) == 3 and len(set(ratios)) > 1
    assert reference["dispersion"]["return_z"] == pytest.approx(np.var(ratios, ddof=1))


def test_a_spread_needs_two_windows() -> None:
    values = np.arange(10.0)
    two = drift_reference(model_features("AAA", return_z=values), reference_days=100, window=5)
    assert "return_z" in two["dispersion"]
    # One window has no spread to measure: nothing is stored (NaN is not JSON).
    one = drift_reference(model_features("AAA", return_z=values[:8]), reference_days=100, window=4)
    assert "return_z" in one["inflation"] and "return_z" not in one["dispersion"]


def test_the_null_counts_full_windows_only_and_one_degree_of_freedom_per_edge() -> None:
    window = 5
    # 19 rows: full windows start at 0, 5 and 10; rows 15-18 are too few for a fourth.
    # Three early -1s among 0s: every inner quintile is 0, a single bin edge.
    values = np.concatenate([[-1.0] * 3, np.zeros(16)])
    reference = drift_reference(
        model_features("AAA", return_z=values), reference_days=100, window=5
    )
    profile = reference["symbols"]["AAA"]["return_z"]
    assert profile["edges"] == [0.0]
    ratios = _window_ratios(values, profile, window)
    assert len(ratios) == 3
    assert reference["inflation"]["return_z"] == pytest.approx(np.mean(ratios))


def test_a_reference_built_by_this_code_is_current(history: np.ndarray) -> None:
    reference = drift_reference(build_features(bars(history[:300], "AAA")))
    assert DriftReference.from_dict(reference) is not None
    unversioned = {key: v for key, v in reference.items() if key != "version"}
    assert DriftReference.from_dict(unversioned) is None


@pytest.fixture(scope="module")
def stored(history: np.ndarray) -> dict[str, Any]:
    """A reference as registered models store it: two symbols of daily bars."""
    features = build_features(
        pd.concat([bars(history[:700], "AAA"), bars(history[700:1300], "BBB", seed=1)])
    )
    return drift_reference(features)


def _without(stored: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in stored.items() if key not in keys}


def test_the_stored_reference_keeps_the_layout_every_registered_model_has(
    stored: dict[str, Any],
) -> None:
    assert list(stored) == STORED_KEYS
    assert stored["version"] == REFERENCE_VERSION
    assert list(stored["scale"]) == ["input", "window", "symbols", "pooled"]
    assert list(stored["scale"]["pooled"]) == ["mean", "sd"]
    assert list(stored["symbols"]["AAA"]) == list(DRIFT_INPUTS)
    assert list(stored["symbols"]["AAA"]["gap_z"]) == ["edges", "fractions"]
    assert list(stored["symbols"]) == ["AAA", "BBB"]
    assert json.loads(json.dumps(stored)) == stored  # plain JSON: the model's spec file


@pytest.mark.parametrize(
    "dropped",
    [(), ("dispersion",), ("scale",), ("dispersion", "scale")],
    ids=["current", "before the dispersion", "before the scale null", "before both"],
)
def test_every_stored_version_2_reference_reads_back_to_the_same_dict(
    stored: dict[str, Any], dropped: tuple[str, ...]
) -> None:
    shape = json.loads(json.dumps(_without(stored, *dropped)))  # as read from the spec
    reference = DriftReference.from_dict(shape)
    assert reference is not None
    assert json.dumps(reference.to_dict()) == json.dumps(shape)  # same keys, order, values
    assert (reference.dispersion is None) == ("dispersion" in dropped)
    assert (reference.scale is None) == ("scale" in dropped)


def test_a_read_reference_holds_the_stored_bins_nulls_and_dates(stored: dict[str, Any]) -> None:
    reference = DriftReference.from_dict(stored)
    assert reference is not None and reference.scale is not None
    assert reference.inputs == list(DRIFT_INPUTS) and reference.window == stored["window"]
    aaa = stored["symbols"]["AAA"]["range_z"]
    assert reference.symbols["AAA"]["range_z"] == Bins(**aaa)
    assert reference.pooled["return_z"] == Bins(**stored["pooled"]["return_z"])
    assert reference.inflation == stored["inflation"]
    assert reference.dispersion == stored["dispersion"]
    assert reference.scale.symbols["BBB"] == ScaleNull(**stored["scale"]["symbols"]["BBB"])
    assert (reference.first_date, reference.last_date) == (
        stored["first_date"],
        stored["last_date"],
    )


def test_the_stored_dict_is_the_built_references(history: np.ndarray) -> None:
    features = build_features(bars(history[:300], "AAA"))
    built = build_reference(features, reference_days=200, window=10)
    assert built is not None
    assert drift_reference(features, reference_days=200, window=10) == built.to_dict()
    assert (built.reference_days, built.window) == (200, 10)
    assert build_reference(features.iloc[:20], reference_days=200, window=10) is None


@pytest.mark.parametrize(
    "profile",
    [
        {"log_return": {"edges": [0.0], "fractions": [0.5, 0.5]}},  # issue 9's PSI deciles
        {},  # a model registered with too little history to profile
        {"version": 1, "inputs": ["x"]},
        {"version": REFERENCE_VERSION + 1, "inputs": ["x"]},
        None,
    ],
    ids=["psi profile", "empty", "version 1", "a newer version", "none"],
)
def test_a_reference_this_code_did_not_build_is_no_current_reference(
    profile: dict[str, Any] | None,
) -> None:
    assert DriftReference.from_dict(profile) is None


def test_a_reference_without_recorded_days_or_dates_stores_none_of_those_keys() -> None:
    bins = Bins(edges=[0.0], fractions=[0.5, 0.5])
    reference = DriftReference(
        inputs=["x"], window=5, symbols={"AAA": {"x": bins}}, pooled={"x": bins}, inflation={}
    )
    assert reference.to_dict() == {
        "version": REFERENCE_VERSION,
        "inputs": ["x"],
        "window": 5,
        "symbols": {"AAA": {"x": {"edges": [0.0], "fractions": [0.5, 0.5]}}},
        "pooled": {"x": {"edges": [0.0], "fractions": [0.5, 0.5]}},
        "inflation": {},
    }
    assert DriftReference.from_dict(reference.to_dict()) == reference
