"""Model: the champion (what it is, what it was trained on, how it beat the baselines),
every version's gate decision, and the monitoring days that asked for a retrain."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from market_predictor.config import Settings
from market_predictor.dashboard.frames import (
    interval_test_table,
    retrain_triggers,
    validation_table,
)
from market_predictor.dashboard.ui import load, load_optional


def _default(name: str) -> object:
    """A setting's default, from the one place it is defined."""
    return Settings.model_fields[name].default


champion = load_optional("the champion", "/models/champion")
st.title("Model")
if champion is None:
    st.info(
        "**No champion yet.** Train one with `mpp train` (or run `mpp demo`).",
        icon=":material/info:",
    )
    st.stop()

kind = "persistence baseline" if champion["is_baseline"] else (champion.get("model_type") or "")
st.subheader(f"Champion: {champion['name']} v{champion['version']}")
st.caption(
    f"{kind} · promoted by {champion.get('promoted_by') or '–'} · run {champion.get('run_id')}"
)
trained_at = pd.Timestamp(champion["trained_at"])
card = st.columns([0.7, 1.2, 2.2, 1.2])
card[0].metric("Version", champion["version"])
card[1].metric("Trained at", trained_at.strftime("%Y-%m-%d"), help=f"{trained_at} (UTC)")
card[2].metric(
    "Training data",
    f"{champion.get('training_start') or '…'} → "
    f"{champion.get('training_end') or champion.get('trained_until') or '…'}",
)
card[3].metric("Validation from", str(champion.get("validation_start") or "–"))

if champion.get("gate_decision"):
    st.markdown(f"**Gate:** `{champion['gate_decision']}` — {champion.get('gate_reason') or ''}")

st.markdown("#### Validation, beside the baselines (same rows)")
validation = validation_table(champion.get("validation") or {})
if validation.empty:
    st.caption("No validation metrics were recorded for this version.")
else:
    st.dataframe(
        validation,
        hide_index=True,
        width="stretch",
        column_config={
            "pinball": st.column_config.NumberColumn(format="%.6f"),
            "mae": st.column_config.NumberColumn(format="%.4f"),
            "mase": st.column_config.NumberColumn(format="%.4f"),
            "rmse": st.column_config.NumberColumn(format="%.4f"),
            "mape": st.column_config.NumberColumn(format="%.3f"),
            "coverage": st.column_config.NumberColumn(format="percent"),
            "directional_accuracy": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption(
        "Lower pinball loss, MAE and MASE are better; the gate promotes a model only when its "
        "pinball loss beats persistence and the previous champion."
    )

st.markdown("#### Interval backtests on the validation window (next day)")
interval_tests = interval_test_table(champion.get("interval_tests") or {})
if interval_tests.empty:
    st.caption("No interval backtests were recorded for this version.")
else:
    percent = st.column_config.NumberColumn(format="percent")
    p_value = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(
        interval_tests,
        hide_index=True,
        width="stretch",
        column_config={
            "nominal": percent,
            "miss rate": percent,
            "Kupiec POF p": p_value,
            "independence p": p_value,
            "cond. coverage p": p_value,
            "interval score": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    st.caption(
        "A miss is a close beyond the bound (either bound for the interval). Kupiec's test "
        "asks whether misses come at the nominal rate, Christoffersen's whether they cluster "
        "(independence) and both at once (conditional coverage); `rejected` lists the tests "
        "rejected at 5%. The interval score (Gneiting-Raftery, in price units) rewards a "
        "narrow interval and charges each miss: lower is better."
    )

st.markdown("#### Gate history")
history = pd.DataFrame(champion.get("history") or [])
if not history.empty:
    history["aliases"] = history["aliases"].map(", ".join)
    history["created_at"] = pd.to_datetime(history["created_at"]).dt.strftime("%Y-%m-%d %H:%M")
    columns = ["version", "aliases", "created_at", "model_type", "is_baseline"]
    columns += ["trained_until", "gate_decision", "gate_reason", "promoted_by"]
    st.dataframe(history[[c for c in columns if c in history]], hide_index=True, width="stretch")

st.markdown("#### Retrain triggers")
# Every horizon's tests may ask for a retrain: one metrics body per symbol and horizon.
metrics = [
    load(f"{row['symbol']} {h}-day monitoring", f"/metrics/{row['symbol']}", {"horizon": h})
    for row in load("the symbols", "/symbols")["symbols"]
    for h in row.get("horizons") or [1]
]
triggers = retrain_triggers(metrics)
if triggers.empty:
    st.caption("Monitoring has not recommended a retrain on any day.")
else:
    counts = triggers.groupby("symbol").size().rename("days flagged").reset_index()
    left, right = st.columns([1, 3])
    left.dataframe(counts, hide_index=True, width="stretch")
    right.dataframe(
        triggers,
        hide_index=True,
        width="stretch",
        column_config={"coverage": st.column_config.NumberColumn(format="percent")},
    )
    st.caption(
        "A day is flagged when one of its statistical tests fires (interval coverage, skill "
        "against persistence and bias of the median at each horizon, on tests that allow for "
        "overlapping h-day errors; drift of a model input, or the last week's range against the "
        "served volatility), each at its share of the day's family-wise level "
        f"(MPP_TRIGGER_ALPHA, {_default('trigger_alpha'):.0%} by default); the row names the "
        "test, its statistic, threshold and window. A flagged day retrains at most once per "
        f"cooldown (MPP_RETRAIN_COOLDOWN_DAYS, {_default('retrain_cooldown_days')} trading days); "
        "a champion older than MPP_MAX_MODEL_AGE_DAYS "
        f"({_default('max_model_age_days')} trading days by default) is retrained on schedule."
    )
