"""The champion's validation metrics are grouped by rival from the run's metric names."""

from __future__ import annotations

from market_predictor.api.models_info import _validation


def test_validation_metrics_are_grouped_by_rival_and_epoch_losses_left_out() -> None:
    grouped = _validation(
        {
            "val_model_mae": 1.5,
            "val_model_pinball": 0.01,
            "val_persistence_mae": 1.6,
            "val_drift_coverage": 0.8,
            "val_loss": 0.2,
            "train_loss": 0.3,
        }
    )
    assert set(grouped) == {"model", "persistence", "drift"}
    assert grouped["model"].mae == 1.5 and grouped["model"].pinball == 0.01
    assert grouped["persistence"].mae == 1.6
    assert grouped["drift"].coverage == 0.8
