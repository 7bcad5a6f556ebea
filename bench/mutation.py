"""Mutation testing of the modules where a silent bug costs money or trust.

`make mutation` (= `python -m bench.mutation [GROUP ...]`) runs mutmut (configured in
pyproject.toml) on one group at a time, then writes the score of each group and every
surviving mutant, with its explanation, to docs/benchmarks/mutation.md. A survivor is
either listed in EQUIVALENT (no test can tell it from the original, and why), or in
SURVIVING (a real difference no test pins, and why none should), or it is a gap in the
tests. The score counts killed mutants among the non-equivalent ones.

Scope, so that a full run stays under 30 minutes on 2 shared cores: each group mutates
only its decisive functions (GROUPS), and mutmut runs, for each mutant, the selected unit
tests that call the mutated function (pyproject.toml [tool.mutmut]); the four monitor()
end-to-end tests are deselected there (a replay each, paid again by every mutant they
reach), since each function they reach has unit tests of its own.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks" / "mutation.md"
TARGET = 0.85
# The venv's own mutmut: `make mutation` runs the venv's python without activating it.
MUTMUT = str(Path(sys.executable).parent / "mutmut")
M = "market_predictor"


@dataclass(frozen=True)
class Group:
    name: str
    files: tuple[str, ...]
    patterns: tuple[str, ...]  # mutmut mutant names (fnmatch) of the functions under test


GROUPS = (
    Group("validation", ("validation.py",), (f"{M}.validation.*",)),
    Group(
        "gate decision",
        ("training/gate.py", "training/evaluate.py"),
        (
            f"{M}.training.gate.*",
            # Who is compared, on which rows: what the gate's verdict is computed from.
            *(
                f"{M}.training.evaluate.{function}__mutmut_*"
                for function in (
                    "x_attach_outcomes",
                    "x__outcomes",
                    "x_validation_forecasts",
                    "x_shared_share",
                    "x_common_rows",
                    "x_compare_by_horizon",
                    "x__at_horizon",
                    "x_rows_before",
                )
            ),
        ),
    ),
    Group("evaluation", ("evaluation.py",), (f"{M}.evaluation.*",)),
    Group(
        "monitoring policy",
        (
            "monitoring.py",
            "store/errors.py",
            *(
                f"triggers/{module}.py"
                for module in ("base", "coverage", "skill", "bias", "drift", "scale", "overlap")
            ),
            "triggers/reference.py",
            "triggers/family.py",
        ),
        (
            *(
                f"{M}.monitoring.{function}__mutmut_*"
                for function in (
                    "x_rolling_skill",
                    "x_skill_by_symbol",
                    "x__nanmean",
                    "x_symbol_tests",
                    "x__tests",
                    "x__recent_errors",
                    "x__verdict",
                    "x__last_rows",
                    "x_scaled_errors",
                )
            ),
            *(
                f"{M}.triggers.{module}.{function}__mutmut_*"
                for module, functions in (
                    ("base", ("x_present",)),
                    ("coverage", ("x_coverage_test", "x__binomial_p_value")),
                    ("skill", ("x_skill_test", "x__overlapping_skill_test")),
                    ("bias", ("x_bias_test", "x__t")),
                    (
                        "overlap",
                        (
                            "x_horizon_window",
                            "x_newest_non_overlapping",
                            "x_ewc_long_run_variance",
                            "x__cosines",
                            "x_overlap_t",
                            "x_horizon_name",
                        ),
                    ),
                    (
                        "drift",
                        (
                            "x__bin_counts",
                            "x_chi_square",
                            "x_profile",
                            "x_window_ratios",
                            "x_drift_tests",
                            "x__scaled_chi2",
                        ),
                    ),
                    ("scale", ("x_window_log_means", "x_scale_null", "x_scale_test")),
                    ("reference", ("x_build_reference", "x_drift_reference")),
                    (
                        "family",
                        ("x_trigger_count", "x_per_test_level", "x_run_all", "x_strongest"),
                    ),
                )
                for function in functions
            ),
            f"{M}.store.errors.x_realised_errors__mutmut_*",
            f"{M}.store.errors.x_served__mutmut_*",
            # Each trigger's count and run, and the reading of a stored reference.
            *(
                f"{M}.triggers.{module}.xǁ{cls}ǁ*"
                for module, cls in (
                    ("coverage", "CoverageTrigger"),
                    ("skill", "SkillTrigger"),
                    ("bias", "BiasTrigger"),
                    ("drift", "DriftTrigger"),
                    ("scale", "ScaleTrigger"),
                    ("reference", "DriftReference"),
                )
            ),
        ),
    ),
    Group(
        "store upserts",
        ("store/feature_group.py", "store/delta.py"),
        (
            f"{M}.store.feature_group.xǁPriceFeatureGroupǁupsert__mutmut_*",
            f"{M}.store.delta.xǁTableǁupsert__mutmut_*",
            f"{M}.store.delta.xǁTableǁto_arrow__mutmut_*",
            f"{M}.store.delta.x__without_unchanged__mutmut_*",
            f"{M}.store.delta.x__date_bounds__mutmut_*",
        ),
    ),
    Group(
        "inference look-ahead guards",
        ("day.py", "inference.py", "checks.py"),
        (
            f"{M}.day.x_resolve_day__mutmut_*",
            f"{M}.day.x_check_no_look_ahead__mutmut_*",
            f"{M}.day.x__default_as_of__mutmut_*",
            f"{M}.inference.x_read_window__mutmut_*",
            f"{M}.checks.x_check_not_future__mutmut_*",
        ),
    ),
    Group(
        "intervals and horizons",
        ("online_calibration.py", "interval_tests.py", "models/calibration.py", "calendar.py"),
        (
            *(
                f"{M}.online_calibration.{function}__mutmut_*"
                for function in (
                    "x_step",
                    "x_scaled_bound",
                    "x_scale_interval",
                    "x_state_from_errors",
                    "x_continue_states",
                    "x__fold",
                    "x_simulate",
                    "x__simulate_one",
                    "x__served",
                    "xǁOnlineRuleǁat",
                    "xǁOnlineRuleǁfor_quantiles",
                )
            ),
            *(
                f"{M}.interval_tests.{function}__mutmut_*"
                for function in (
                    "x_pof_statistic",
                    "x_transition_counts",
                    "x_independence_statistic",
                    "x_conditional_coverage_statistic",
                    "x_interval_score",
                    "x_likelihood_ratio_test",
                    "x_hit_backtest",
                    "x_interval_backtest",
                    "x__log_likelihood",
                    "x__rate",
                    "x__pof",
                    "x__independence",
                    "x__conditional_coverage",
                    "x__probability",
                    "x__as_hits",
                    "x__as_table",
                )
            ),
            *(
                f"{M}.models.calibration.{function}__mutmut_*"
                for function in (
                    "x_level_factors",
                    "x_shrunk_factors",
                    "x_fit_calibration",
                    "x_calibration_on",
                    "xǁIntervalCalibrationǁfactors_for",
                    "xǁIntervalCalibrationǁapply",
                )
            ),
            # The target date of an h-day forecast and the trading-day counts behind it.
            *(
                f"{M}.calendar.{function}__mutmut_*"
                for function in (
                    "x_next_trading_day",
                    "x_shift_trading_days",
                    "x_trading_days",
                    "x_trading_days_between",
                )
            ),
        ),
    ),
)

# Survivors that no test can kill, by mutant name, and why. Names follow the source: when
# a listed function changes, re-check its entries (mutmut numbers mutants per function).
EQUIVALENT: dict[str, str] = {
    "market_predictor.validation.x_price_schema__mutmut_4": (
        "equivalent: validate_prices hands the schema a frame with a fresh RangeIndex"
        " (drop_duplicates(ignore_index=True)), so a default index is the series' index"
    ),
    "market_predictor.validation.x_price_schema__mutmut_6": (
        "equivalent: as mutant 4 (the index argument dropped, a default RangeIndex)"
    ),
    "market_predictor.validation.x_price_schema__mutmut_8": (
        "equivalent: the schema's dtype checks make every checked column float64 already"
    ),
    "market_predictor.validation.x_price_schema__mutmut_30": (
        "equivalent: coerce=None is falsy, as coerce=False"
    ),
    "market_predictor.validation.x_price_schema__mutmut_33": (
        "equivalent: strict=False is pandera's default"
    ),
    "market_predictor.validation.x_price_schema__mutmut_34": (
        "equivalent: coerce=False is pandera's default"
    ),
    "market_predictor.validation.x_price_schema__mutmut_46": (
        "equivalent: a null symbol is already reported by the column's not-nullable"
        " check (as invalid symbol) whatever the pattern check fills in"
    ),
    "market_predictor.validation.x_price_schema__mutmut_48": ("equivalent: as mutant 46"),
    "market_predictor.validation.x_validate_prices__mutmut_2": (
        "equivalent: reasons are written by index label and both outputs are re-indexed,"
        " so a gap left by a dropped duplicate changes nothing"
    ),
    "market_predictor.validation.x_validate_prices__mutmut_3": ("equivalent: as mutant 2"),
    "market_predictor.validation.x_validate_prices__mutmut_5": (
        "equivalent: None, NaN and pd.NA all read as 'no reason yet' (notna() is False)"
    ),
    "market_predictor.validation.x_validate_prices__mutmut_7": (
        "equivalent: pd.NA without a dtype gives an object series, as dtype='object'"
    ),
    "market_predictor.validation.x_validate_prices__mutmut_10": ("equivalent: as mutant 7"),
    # Who the gate compares, on which rows (training/evaluate.py).
    **{
        f"{M}.training.evaluate.x__outcomes__mutmut_{n}": (
            "equivalent: a grouped shift returns each row's value in the frame's own order"
            " whether or not the symbols are sorted"
        )
        for n in (15, 17, 20)
    },
    **{
        f"{M}.training.evaluate.x__outcomes__mutmut_{n}": (
            "equivalent: numpy 2 infers int64 from a Python int on every platform"
        )
        for n in (40, 43)
    },
    f"{M}.training.evaluate.x__outcomes__mutmut_62": (
        "equivalent: symbol, as-of date and horizon are never missing, and the target date"
        " is missing exactly where the close is (both shifted from the same stored row)"
    ),
    **{
        f"{M}.training.evaluate.x__outcomes__mutmut_{n}": (
            "equivalent: the outcomes are only merged on columns, which drops their index"
        )
        for n in (64, 66, 67)
    },
    **{
        f"{M}.training.evaluate.x_attach_outcomes__mutmut_{n}": (
            "equivalent: the outcomes' other columns are target_date, dropped from the"
            " forecasts just before, and actual_close, which no forecast frame holds"
            " (FORECAST_COLUMNS, the predictions table): the shared columns are the keys"
        )
        for n in (53, 69, 73)
    },
    f"{M}.training.evaluate.x_attach_outcomes__mutmut_74": (
        "equivalent: how='inner' is merge's default"
    ),
    **{
        f"{M}.training.evaluate.x_common_rows__mutmut_{n}": (
            "equivalent: the key frames hold only symbol and as_of_date, so the columns"
            " both sides share are exactly the keys"
        )
        for n in (18, 20, 27, 29)
    },
    **{
        f"{M}.training.evaluate.x_shared_share__mutmut_{n}": (
            "equivalent: symbols are strings (validation.py), and pandas matches an object,"
            " categorical or Arrow string column with a str one by value"
        )
        for n in (16, 17)
    },
    "market_predictor.evaluation.x_metrics_table__mutmut_11": (
        "equivalent: groupby sorts its keys by default"
    ),
    "market_predictor.validation.x_validate_prices__mutmut_8": (
        "equivalent: an empty series with an index is all-NaN: 'no reason yet', as pd.NA"
    ),
    **{
        f"market_predictor.evaluation.x_pinball_loss__mutmut_{n}": (
            "equivalent: returns, quantile returns and levels are numeric; without the"
            " float64 cast the differences and products are the same floats"
        )
        for n in (7, 9, 17, 19, 28, 30)
    },
    **{
        f"market_predictor.evaluation.x_pinball_loss__mutmut_{n}": (
            "equivalent: numpy reads any negative size in reshape as 'infer'"
        )
        for n in (13, 35)
    },
    "market_predictor.evaluation.x_pinball_loss__mutmut_25": (
        "equivalent: a 1-D row of levels broadcasts over the rows as the 1 x k one does"
    ),
    **dict.fromkeys(
        (
            "market_predictor.evaluation.x_forecast_metrics__mutmut_4",
            "market_predictor.evaluation.x_forecast_metrics__mutmut_66",
            "market_predictor.evaluation.x_mase__mutmut_8",
        ),
        "equivalent: float('NAN') is NaN, as float('nan')",
    ),
    **{
        f"market_predictor.evaluation.x_forecast_metrics__mutmut_{n}": (
            "equivalent: to_numpy() of a numeric column (float, int, nullable, arrow) is"
            " numeric already, and every metric comes out the same"
        )
        for n in (9, 15, 21, 27, 33)
    },
    "market_predictor.evaluation.x_forecast_metrics__mutmut_60": (
        "equivalent: with no called direction the mean of the empty selection is NaN too"
    ),
    # The realised-error rows and the served forecast per day (store/errors.py).
    f"{M}.store.errors.x_realised_errors__mutmut_150": (
        "equivalent: 'utc' and 'UTC' name the same zone"
    ),
    **{
        f"{M}.store.errors.x_realised_errors__mutmut_{n}": (
            "equivalent: merge with no keys joins on the shared columns, which are exactly"
            " symbol and target_date (the actuals are renamed to them and actual_close,"
            " which no predictions frame holds)"
        )
        for n in (19, 22)
    },
    f"{M}.store.errors.x_realised_errors__mutmut_23": (
        "equivalent: an inner join is merge's default"
    ),
    f"{M}.store.errors.x_realised_errors__mutmut_72": (
        "equivalent: None written into a boolean series is NA, as pd.NA"
    ),
    **{
        f"{M}.store.errors.x_served__mutmut_{n}": (
            "equivalent: the model version is a key column, never missing, so no version"
            " gets factorize's NA sentinel"
        )
        for n in (11, 13, 16)
    },
    f"{M}.store.errors.x_served__mutmut_21": (
        "equivalent: model versions are MLflow's integer versions, so coercion never"
        " has a non-number to turn into NaN"
    ),
    **{
        f"market_predictor.triggers.coverage.x_coverage_test__mutmut_{n}": (
            "equivalent: the hits are booleans already (symbol_tests and _recent_errors cast them)"
        )
        for n in (4, 6)
    },
    "market_predictor.triggers.scale.x_window_log_means__mutmut_7": (
        "equivalent: a constant added to every cumulative sum cancels in the window differences"
    ),
    **{
        f"market_predictor.triggers.reference.x_build_reference__mutmut_{n}": (
            "equivalent: groupby().tail() keeps the frame's row order whether or not"
            " the groups are sorted"
        )
        for n in (6, 8, 11)
    },
    **{
        f"market_predictor.triggers.reference.x_build_reference__mutmut_{n}": (
            "equivalent: the order the symbols are visited in changes only the order of"
            " the window statistics pooled into one mean and variance, and of the keys of"
            " dicts read by symbol"
        )
        for n in (15, 17, 20, 50, 52, 55)
    },
    **{
        f"market_predictor.triggers.reference.x_build_reference__mutmut_{n}": (
            "equivalent: model_inputs' columns are float64 already (ratios of floats)"
        )
        for n in (28, 46, 80)
    },
    **{
        f"market_predictor.triggers.drift.x_drift_tests__mutmut_{n}": (
            "equivalent: without the float64 cast, numeric inputs bin, filter and sum to"
            " the same statistic"
        )
        for n in (11, 13)
    },
    **{
        f"market_predictor.monitoring.x_scaled_errors__mutmut_{n}": (
            "equivalent: prices and interval bounds are float64 columns already"
        )
        for n in (2, 11)
    },
    **{
        f"market_predictor.monitoring.x_scaled_errors__mutmut_{n}": (
            "equivalent: np.errstate only silences the warning of a zero-width interval;"
            " the values returned are the same"
        )
        for n in (19, 20, 21, 22)
    },
    **{
        f"market_predictor.triggers.bias.x_bias_test__mutmut_{n}": (
            "equivalent: the scaled errors are float64 already (scaled_errors returns"
            " them so), so the cast changes nothing"
        )
        for n in (4, 6)
    },
    **{
        f"market_predictor.triggers.skill.x_skill_test__mutmut_{n}": (
            "equivalent: the absolute errors are float64 columns of the errors table"
            " already, so the cast changes nothing"
        )
        for n in (5, 7, 11, 13)
    },
    f"{M}.triggers.skill.x__overlapping_skill_test__mutmut_18": (
        "equivalent: `sure` is read only for a constant gap, whose statistic is 0 or"
        " an infinity, never in (0, 1]"
    ),
    f"{M}.triggers.overlap.x_overlap_t__mutmut_1": (
        "equivalent: for a whole bound m, n // h < m exactly when n / h < m"
    ),
    f"{M}.monitoring.x_skill_by_symbol__mutmut_7": (
        "equivalent: the errors' hits are booleans already (realised_errors writes one"
        " for every row), so the cast changes no count"
    ),
    **{
        f"{M}.monitoring.x_skill_by_symbol__mutmut_{n}": (
            "equivalent: astype(None) turns the booleans into 0.0/1.0: the same counts"
        )
        for n in (10, 15)
    },
    "market_predictor.monitoring.x__nanmean__mutmut_19": (
        "equivalent: float('NAN') is NaN, as float('nan')"
    ),
    "market_predictor.monitoring.x__nanmean__mutmut_7": (
        "equivalent: with no value present numpy's 0.0 / 0 is NaN too"
    ),
    "market_predictor.monitoring.x_symbol_tests__mutmut_35": (
        "equivalent: coverage_test casts the hits to booleans; 0.0/1.0 cast the same"
    ),
    **{
        f"market_predictor.monitoring.x__last_rows__mutmut_{n}": (
            "equivalent: pandas ignores `kind` when sorting on several columns"
        )
        for n in (3, 5, 8, 9)
    },
    **{
        f"market_predictor.monitoring.x__last_rows__mutmut_{n}": (
            "equivalent: groupby().tail() keeps the frame's row order whether or not"
            " the groups are sorted"
        )
        for n in (13, 15, 18)
    },
    **{
        f"market_predictor.monitoring.x__last_rows__mutmut_{n}": (
            "equivalent: starts and ends are built the same length, so zip's strictness"
            " never matters"
        )
        for n in (40, 43, 44)
    },
    **{
        f"market_predictor.triggers.scale.x_scale_test__mutmut_{n}": (
            "equivalent: the model inputs are float64 already, so the cast changes nothing"
        )
        for n in (8, 10)
    },
    # intervals and horizons
    **{
        f"{M}.online_calibration.x__fold__mutmut_{n}": (
            "equivalent: continue_states returns before folding when no error has a close,"
            " so some group always counts at least 1 and the max's initial is never used"
        )
        for n in (10, 11)
    },
    **{
        f"{M}.online_calibration.x__simulate_one__mutmut_{n}": (
            "equivalent: as-of and target dates are unique within a (run, symbol, horizon),"
            " so every sort kind gives the same order"
        )
        for n in (3, 5, 14, 16)
    },
    **{
        f"{M}.online_calibration.x__simulate_one__mutmut_{n}": (
            "equivalent: numpy reads a sort kind by its first letter in either case"
        )
        for n in (7, 18)
    },
    f"{M}.online_calibration.x__simulate_one__mutmut_27": (
        "equivalent: side='left' is searchsorted's default"
    ),
    **{
        f"{M}.online_calibration.x_continue_states__mutmut_{n}": (
            "equivalent: the codes' order only orders the groups, and the result is sorted"
            " by symbol and horizon"
        )
        for n in (12, 14, 18)
    },
    f"{M}.online_calibration.x_continue_states__mutmut_20": (
        "equivalent: horizons are int64 already (the predictions schema, or assign(horizon=1))"
    ),
    f"{M}.online_calibration.x_continue_states__mutmut_26": (
        "equivalent: lexsort orders dates, timestamps and datetime64 alike"
    ),
    **{
        f"{M}.online_calibration.x_continue_states__mutmut_{n}": (
            "equivalent: merge without `on` joins on the shared columns, exactly symbol and horizon"
        )
        for n in (55, 58)
    },
    **{
        f"{M}.online_calibration.x_continue_states__mutmut_{n}": (
            "equivalent: closes, bounds and the merged log scales are float64 already"
        )
        for n in (73, 85, 93, 99)
    },
    f"{M}.online_calibration.x_continue_states__mutmut_152": (
        "equivalent: concatenating the empty frame of unmoved states (same columns and"
        " dtypes) changes no value; the guard only saves a copy"
    ),
    **{
        f"{M}.online_calibration.x_continue_states__mutmut_{n}": (
            "equivalent: the result is re-indexed by sort_values(ignore_index=True)"
        )
        for n in (154, 156, 157)
    },
    **{
        f"{M}.online_calibration.x_scale_interval__mutmut_{n}": (
            "equivalent: astype(None) makes the horizons floats, and 1.0 finds the state"
            " of horizon 1 in the index as 1 does"
        )
        for n in (20, 33)
    },
    f"{M}.online_calibration.x_scale_interval__mutmut_28": (
        "equivalent: the states' symbols are strings already (the scales schema)"
    ),
    f"{M}.online_calibration.x_scale_interval__mutmut_29": (
        "equivalent: the states' horizons are int64 already (the scales schema)"
    ),
    **{
        f"{M}.online_calibration.x_scale_interval__mutmut_{n}": (
            "equivalent: closes, bounds and the reindexed log scales are float64 already"
        )
        for n in (43, 51, 59, 73, 87)
    },
    **{
        f"{M}.online_calibration.x_scaled_bound__mutmut_{n}": (
            "equivalent: both callers (scale_interval, _simulate_one) pass float64 arrays"
        )
        for n in (3, 5, 10, 12, 18, 20)
    },
    **{
        f"{M}.online_calibration.x_simulate__mutmut_{n}": (
            "equivalent: pd.to_datetime gives datetime64[ns] already"
        )
        for n in (38, 44)
    },
    **{
        f"{M}.online_calibration.x_simulate__mutmut_{n}": (
            "equivalent: a backtest's closes and bounds are float64 already"
        )
        for n in (50, 55, 60, 65)
    },
    **{
        f"{M}.online_calibration.x_simulate__mutmut_{n}": (
            "equivalent: each group serves its own rows in place, so the order the groups"
            " are visited in changes nothing"
        )
        for n in (71, 73, 74)
    },
    **{
        f"{M}.interval_tests.x__as_table__mutmut_{n}": (
            "equivalent: without the float64 cast numbers (ints, nullable floats, whose"
            " missing values numpy reads as NaN) compare, subtract and average the same"
        )
        for n in (3, 5)
    },
    f"{M}.interval_tests.x__rate__mutmut_4": (
        "equivalent: with no rows the rate multiplies nothing (xlogy(0, .) = 0), so any"
        " value gives the same likelihood"
    ),
    **{
        f"{M}.interval_tests.x_interval_score__mutmut_{n}": (
            "equivalent: an outcome on a bound adds its distance to it, 0, either way"
        )
        for n in (24, 34)
    },
    f"{M}.interval_tests.x_transition_counts__mutmut_25": (
        "equivalent: numpy reads a sort kind by its first letter in either case"
    ),
    **{
        f"{M}.models.calibration.x{cls}__mutmut_{n}": (
            "equivalent: np.sort's default axis is the last, the levels"
        )
        for cls, n in (("_calibration_on", 24), ("ǁIntervalCalibrationǁapply", 10))
    },
    **{
        f"{M}.models.calibration.x_calibration_on__mutmut_{n}": (
            "equivalent: build_features' target columns are float64 already"
        )
        for n in (8, 35)
    },
    **{
        f"{M}.models.calibration.x_calibration_on__mutmut_{n}": (
            "equivalent: the groups' row positions are read by symbol, so their order"
            " changes nothing"
        )
        for n in (42, 44, 47)
    },
    f"{M}.models.calibration.x_calibration_on__mutmut_59": (
        "equivalent: a symbol has one row a day, so its distinct days are its rows"
    ),
    **{
        f"{M}.models.calibration.x_fit_calibration__mutmut_{n}": (
            "equivalent: cumcount numbers each row within its symbol whether or not the"
            " groups are sorted"
        )
        for n in (8, 10, 13)
    },
    **{
        f"{M}.models.calibration.x_shrunk_factors__mutmut_{n}": (
            "equivalent: at 0 rows the formula's share is 0 / PRIOR_ROWS = 0 too, and"
            " effective rows (counts over a horizon) are never negative"
        )
        for n in (3, 6)
    },
    **{
        f"{M}.models.calibration.xǁIntervalCalibrationǁfactors_for__mutmut_{n}": (
            "equivalent: the factors are floats already (level_factors, shrunk_factors"
            " and from_dict make them floats)"
        )
        for n in (3, 5)
    },
    f"{M}.calendar.x_trading_days_between__mutmut_1": (
        "equivalent: for the same day both branches count an empty range: 0"
    ),
}

# Survivors that differ from the original in a way no test should pin, and why.
# They count as survived in the score.
SURVIVING: dict[str, str] = {
    "market_predictor.inference.x_check_no_look_ahead__mutmut_5": (
        "message wording only: the test checks the facts the refusal names (version,"
        " both dates, the reason), not its exact text"
    ),
}

# The bug classes issue 14 lists, planted by hand one at a time (never committed), and
# the test that fails for each.
PLANTED: tuple[tuple[str, str, str], ...] = (
    (
        "train() gate ignoring the champion (its pinball not passed to the gate)",
        "training/__init__.py",
        "`tests/integration/test_training.py::"
        "test_a_retrain_that_only_ties_the_champion_leaves_it_in_place`",
    ),
    (
        "gate promotes a tie with the champion (`<` made `<=`)",
        "training/gate.py",
        "`tests/unit/training/test_gate.py::test_a_model_that_only_ties_the_champion_is_refused`",
    ),
    (
        "gate promotes a tie with persistence (`<` made `<=`)",
        "training/gate.py",
        "`tests/unit/training/test_gate.py::test_a_model_that_only_ties_persistence_is_refused`",
    ),
    (
        "price upsert compares only `close`",
        "store/feature_group.py",
        "`tests/unit/store/test_feature_group.py::"
        "test_restating_any_single_value_column_updates_that_row_only`",
    ),
    (
        "quarantine checks `low` against max(open, close)",
        "validation.py",
        "`tests/unit/test_validation.py::test_low_one_tick_above_open_or_close_is_quarantined`",
    ),
    (
        "coverage acceptance band exclusive (the retrain policy, now triggers/coverage.py)",
        "triggers/coverage.py",
        "`tests/unit/triggers/test_coverage.py::"
        "test_coverage_fires_on_the_first_count_beyond_the_acceptance_bounds`",
    ),
    (
        "interval exclusive when an actual is scored",
        "monitoring.py",
        "`tests/unit/test_monitoring.py::"
        "test_an_actual_on_either_edge_of_the_interval_is_inside_and_a_cent_beyond_is_not`",
    ),
    (
        "interval exclusive in the coverage metric",
        "evaluation.py",
        "`tests/unit/test_evaluation.py::test_an_actual_on_either_edge_of_the_interval_is_covered`",
    ),
    (
        "network fitted on rows including the gate window",
        "training/__init__.py",
        "`tests/integration/test_training.py::"
        "test_the_network_is_fitted_only_on_rows_before_the_gates_window`",
    ),
    (
        "monitor() ignoring the trigger_alpha setting",
        "monitoring.py",
        "`tests/unit/test_monitoring.py::"
        "test_monitor_shares_the_configured_family_wise_level_among_the_days_tests`",
    ),
    (
        "monitor() ignoring the model_name setting",
        "monitoring.py",
        "`tests/integration/test_monitor_settings.py::"
        "test_monitor_reads_only_the_predictions_of_the_configured_model`",
    ),
)

STATUS = {1: "killed", 3: "killed", 0: "survived", 33: "no tests", 5: "no tests", 37: "killed"}
TIMEOUTS = {36, 24, -24, 152, 255}


@dataclass
class Score:
    group: Group
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    rerun: bool = False  # run alone after the last whole run (tests added since)
    run_on: str | None = None  # the date of its last run alone
    load: tuple[float, float] | None = None  # load average at its start and end
    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.killed) + len(self.survived) + len(self.equivalent) + len(self.untested)

    @property
    def score(self) -> float:
        counted = self.total - len(self.equivalent)
        return len(self.killed) / counted if counted else 1.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(group: Group) -> tuple[float, float]:
    """Wall and CPU seconds of one group's run (CPU: mutmut and every test it forked;
    on a shared machine the wall time mostly measures the other users)."""
    started, cpu = time.perf_counter(), _children_cpu()
    command = [MUTMUT, "run", "--max-children", "2", *group.patterns]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu


def results(group: Group) -> Score:
    score = Score(group)
    for file in group.files:
        meta = ROOT / "mutants" / "src" / M / f"{file}.meta"
        if not meta.exists():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in sorted(codes.items()):
            if code is None or not any(fnmatch.fnmatchcase(name, p) for p in group.patterns):
                continue  # not run (yet), or outside the functions under test
            if code in TIMEOUTS or STATUS.get(code) == "killed":
                score.killed.append(name)
            elif name in EQUIVALENT:
                score.equivalent.append(name)
            elif STATUS.get(code) == "no tests":
                score.untested.append(name)
            else:
                score.survived.append(name)
    return score


def diff(name: str) -> str:
    shown = subprocess.run(
        [MUTMUT, "show", name], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    lines = [line for line in shown.splitlines() if line.startswith(("+", "-"))]
    return "\n".join(line for line in lines if not line.startswith(("+++", "---")))


@dataclass(frozen=True)
class Previous:
    """What the last report says of groups with no result here (mutants/ is local to a
    checkout and not committed): their table rows and survivor sections by the group's
    first word, the whole run's paragraph and date."""

    rows: dict[str, str] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)
    whole: str | None = None
    date: str | None = None


def previous(report: str) -> Previous:
    table, _, survivors = report.partition("\n## Survivors\n")
    scores = table.partition("\n## ")[0]  # not the planted bugs' table
    rows = {
        line.split("|")[1].split()[0]: line
        for line in scores.splitlines()
        if line.startswith("| ") and not line.startswith("| group ")
    }
    sections = {
        section.split()[0]: "### " + section.strip()
        for section in ("\n" + survivors).split("\n### ")[1:]
    }
    whole = next((line for line in table.splitlines() if line.startswith("Whole run (")), None)
    dated = re.search(r"^Command: `[^`]*` \((\d{4}-\d{2}-\d{2})", table, re.MULTILINE)
    return Previous(rows, sections, whole, dated.group(1) if dated else None)


def write(
    scores: list[Score], command: str, whole: dict[str, Any] | None, before: Previous
) -> None:
    date = (whole or {}).get("date") or before.date or dt.date.today().isoformat()
    lines = [
        "# Mutation testing",
        "",
        f"Command: `{command}` ({date}, mutmut 3.8.1, 2 workers on a shared 2-core",
        "machine). Each group mutates the functions named in `bench/mutation.py` and runs,",
        "for each mutant, the unit tests that call the mutated function among those selected",
        "in `pyproject.toml` (`[tool.mutmut]`). The score is killed mutants over",
        "non-equivalent ones; the target is 85% per group. A group marked run alone was",
        "run by itself (`python -m bench.mutation GROUP`) on the date shown; the rows of",
        "groups not run since are kept from the previous report.",
        "",
        "| group | mutants | killed | equivalent | survived | no test | score "
        "| wall min | CPU min |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scores:
        key = s.group.name.split()[0]
        if not s.total and key in before.rows:
            lines.append(before.rows[key])
            continue
        score = f"{s.score:.1%}" if s.total else "not run"
        name = f"{s.group.name} (re-run)" if s.rerun else s.group.name
        name = f"{name} (run alone, {s.run_on})" if s.run_on and not s.rerun else name
        lines.append(
            f"| {name} | {s.total} | {len(s.killed)} | {len(s.equivalent)} | "
            f"{len(s.survived)} | {len(s.untested)} | {score} | {s.seconds / 60:.1f} | "
            f"{s.cpu_seconds / 60:.1f} |"
        )
    if whole:
        lines += [
            "",
            f"Whole run (`{command}`, every group): {whole['wall'] / 60:.1f} min wall,"
            f" {whole['cpu'] / 60:.1f} min CPU (user + system, mutmut and every test process);"
            f" load average {whole['load_start']:.1f} at the start and"
            f" {whole['load_end']:.1f} at the end, on 2 cores shared with other jobs."
            " A group marked re-run was run alone after it, once tests were added; its"
            " score and minutes are from that run.",
        ]
    elif before.whole:
        lines += ["", before.whole]
    lines += [
        "",
        "Scope: validation mutates all of `validation.py`; the gate decision all of",
        "`training/gate.py` (who is compared, the verdict, the winner, what becomes champion)",
        "and, in `training/evaluate.py`, the joining of forecasts with their outcomes, which",
        "contestants are scored, the rows and horizons they are compared on and the rows",
        "fitted before the gate's window;",
        "evaluation all of `evaluation.py`; the monitoring policy the realised-error rows",
        "and the served forecast per day (`store/errors.py`), the rolling-skill and",
        "per-symbol test functions of `monitoring.py` (not monitor()'s reading and",
        "writing) and the coverage, skill, bias, drift, scale, overlap, level",
        "and reporting functions of the `triggers/` package with the drift and scale nulls,",
        "the reading and building of the drift reference, each trigger's count and run and",
        "the family's Bonferroni count, and the",
        "bias test's scaled errors (mutmut",
        "leaves the cached `_binomial_acceptance` and critical-value functions unmutated, and",
        "they are tested through the tests' boundary tests); the store the two",
        "upserts, the filter of unchanged rows before a merge, the merge's date bounds and",
        "the frame-to-table conversion; inference the as-of resolution, the",
        "look-ahead refusal, the window read and `check_not_future`. Intervals and",
        "horizons mutate the online scale's update, fold, serving and backtest simulation",
        "(`online_calibration.py`); the interval backtests' statistics, transition counts,",
        "interval score, tests and input checks (`interval_tests.py`, not the metric",
        "round trip or `forecasts_backtest`); the held-out recalibration's factors,",
        "shrinkage, fit and application (`models/calibration.py`, not its (de)serialisation);",
        "and the trading-day arithmetic that sets an h-day forecast's target date",
        "(`calendar.py`: next_trading_day, shift_trading_days, trading_days,",
        "trading_days_between). The monitor()",
        "end-to-end tests are deselected (a replay each, paid by every mutant they reach).",
        "",
        "Each table's key (`store/<table>.py`) is a constant, so it has no mutants; the keys",
        "are covered by behaviour tests instead: two model versions",
        "forecasting the same day keep both rows (tests/integration/test_two_versions_one_day.py).",
        "",
        "## Planted bugs",
        "",
        "Each bug class of issue 14, planted by hand one at a time and run against the named",
        "test (never committed):",
        "",
        "| bug | where | caught by |",
        "|---|---|---|",
        *(f"| {bug} | `{where}` | {caught} |" for bug, where, caught in PLANTED),
        "",
        "## Survivors",
    ]
    for s in scores:
        left = [*s.equivalent, *s.survived, *s.untested]
        if not s.total and s.group.name.split()[0] in before.sections:
            lines += ["", before.sections[s.group.name.split()[0]]]
            continue
        lines += ["", f"### {s.group.name}", ""]
        if s.run_on and s.load:
            lines += [
                f"Run alone on {s.run_on} (`python -m bench.mutation"
                f" {s.group.name.split()[0]}`): load average {s.load[0]:.1f} at the start"
                f" and {s.load[1]:.1f} at the end, on 2 cores shared with other jobs.",
                "",
            ]
        if not s.total:
            lines.append("Not run yet: `python -m bench.mutation " + s.group.name.split()[0] + "`.")
        elif not left:
            lines.append("None.")
        for name in left:
            why = EQUIVALENT.get(name) or SURVIVING.get(name, "not killed: a gap in the tests")
            lines += [f"- `{name}`: {why}", "", "  ```diff"]
            lines += [f"  {line}" for line in diff(name).splitlines()]
            lines += ["  ```", ""]
    REPORT.write_text("\n".join(lines).rstrip() + "\n")


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _timing(score: Score, value: float | list[float | bool | str]) -> None:
    # Older durations files hold the wall time only, or no date and load of a run alone.
    if isinstance(value, float | int):
        score.seconds = value
        return
    score.seconds, score.cpu_seconds = float(value[0]), float(value[1])
    score.rerun = len(value) > 2 and bool(value[2])
    score.run_on = str(value[3]) if len(value) > 3 and value[3] else None
    if len(value) > 5:
        score.load = (float(value[4]), float(value[5]))


USAGE = """usage: python -m bench.mutation [GROUP ...] [--report-only]

Runs mutmut on the named groups (first word: validation gate evaluation monitoring
store inference intervals; default: all), then rewrites docs/benchmarks/mutation.md from every
stored result. --report-only rewrites the report without running anything."""


def main(argv: list[str]) -> int:
    """Run the groups named by their first word (default: all), or with --report-only
    rewrite the report from the stored results."""
    if {"-h", "--help"} & set(argv):
        print(USAGE)
        return 0
    known = {group.name.split()[0] for group in GROUPS}
    names = [a for a in argv if not a.startswith("--")]
    unknown = [a for a in argv if a not in known and a != "--report-only"]
    if unknown:
        print(f"unknown group or option: {', '.join(unknown)}\n\n{USAGE}", file=sys.stderr)
        return 2
    durations_file = ROOT / "mutants" / "durations.json"
    durations = json.loads(durations_file.read_text()) if durations_file.exists() else {}
    if "--report-only" not in argv:
        load_start, started, cpu_start = os.getloadavg()[0], time.perf_counter(), _children_cpu()
        for group in GROUPS:
            if not names or group.name.split()[0] in names:
                load = os.getloadavg()[0]
                wall, cpu = run(group)
                durations[group.name] = [
                    wall,
                    cpu,
                    bool(names) and "whole" in durations,
                    dt.date.today().isoformat() if names else "",
                    load,
                    os.getloadavg()[0],
                ]
                durations_file.write_text(json.dumps(durations))
        if not names:
            durations["whole"] = {
                "wall": time.perf_counter() - started,
                "cpu": _children_cpu() - cpu_start,
                "load_start": load_start,
                "load_end": os.getloadavg()[0],
                "date": dt.date.today().isoformat(),
            }
            durations_file.write_text(json.dumps(durations))
    scores = []
    for group in GROUPS:
        score = results(group)
        _timing(score, durations.get(group.name, 0.0))
        scores.append(score)
        print(f"{group.name}: {score.score:.1%} of {score.total} ({score.seconds / 60:.1f} min)")
    write(scores, "make mutation", durations.get("whole"), previous(_read(REPORT)))
    return 0 if all(s.score >= TARGET for s in scores if s.total) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
