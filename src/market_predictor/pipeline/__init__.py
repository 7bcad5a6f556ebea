"""The daily pipeline: public steps, the daily job composed from them, and replay."""

from market_predictor.pipeline.daily import check_options, daily_lock, run_daily
from market_predictor.pipeline.replay import Progress, replay
from market_predictor.pipeline.steps import (
    compact_step,
    ingest_step,
    last_retrain,
    model_age_days,
    monitor_step,
    predict_step,
    retrain_due,
    retrain_step,
    retrain_verdict,
)

__all__ = [
    "Progress",
    "check_options",
    "compact_step",
    "daily_lock",
    "ingest_step",
    "last_retrain",
    "model_age_days",
    "monitor_step",
    "predict_step",
    "replay",
    "retrain_due",
    "retrain_step",
    "retrain_verdict",
    "run_daily",
]
