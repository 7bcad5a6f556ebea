"""The registry as the API shows it: every version with its gate decision, and the
champion with every contestant's validation metrics and interval backtests.

Read on the cache's background thread only (MLflow queries take tens of ms)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from market_predictor import registry
from market_predictor.api.schemas import ChampionInfo, ModelList, ModelVersionInfo
from market_predictor.config import Settings
from market_predictor.errors import NotFoundError
from market_predictor.interval_tests import from_metrics
from market_predictor.results import Metrics
from market_predictor.training.gate import SCORED

# A training run logs the validation metrics of every forecaster it scored as
# val_<who>_<metric>, `who` one of the gate's SCORED names; the network's epoch losses
# (val_loss) are not among them.
_VALIDATION_METRIC = re.compile(rf"^val_({'|'.join(map(re.escape, SCORED))})_(.+)$")


def read_models(settings: Settings) -> tuple[ModelList | None, ChampionInfo | None]:
    """Every registered version and the champion (None when nothing is registered)."""
    if not registry.registry_exists(settings):
        return None, None
    try:
        versions = registry.list_versions(settings)
    except NotFoundError:
        return None, None
    listed = ModelList(model_name=settings.model_name, versions=[_version(v) for v in versions])
    try:
        champion = registry.show_version(settings)
    except NotFoundError:
        return listed, None
    return listed, _champion(champion, listed.versions)


def _version(described: dict[str, Any]) -> ModelVersionInfo:
    tags = described.get("tags", {})
    return ModelVersionInfo(
        model_name=described["model_name"],
        version=described["version"],
        aliases=described["aliases"],
        run_id=described.get("run_id") or None,
        created_at=described["created_at"].to_pydatetime(),
        is_baseline=described["is_baseline"],
        model_type=described.get("model_type"),
        trained_until=_day(described.get("trained_until")),
        gate_decision=described.get("gate_decision"),
        gate_reason=tags.get("gate_reason"),
        promoted_by=described.get("promoted_by"),
    )


def _champion(described: dict[str, Any], history: list[ModelVersionInfo]) -> ChampionInfo:
    info = _version(described)
    params = described.get("params", {})
    tags = described.get("tags", {})
    return ChampionInfo(
        name=info.model_name,
        version=info.version,
        run_id=info.run_id,
        is_baseline=info.is_baseline,
        model_type=info.model_type,
        trained_at=info.created_at,
        trained_until=info.trained_until,
        training_start=_day(params.get("dataset_start")),
        training_end=_day(params.get("dataset_end")) or info.trained_until,
        validation_start=_day(params.get("validation_start") or tags.get("validation_start")),
        validation=_validation(described.get("metrics", {})),
        interval_tests=from_metrics(described.get("metrics", {})),
        gate_decision=info.gate_decision,
        gate_reason=info.gate_reason,
        promoted_by=info.promoted_by,
        history=history,
    )


def _validation(metrics: dict[str, float]) -> dict[str, Metrics]:
    """val_model_mae, val_persistence_mae, ... -> {"model": {...}, "persistence": {...}}."""
    grouped: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        match = _VALIDATION_METRIC.match(key)
        if match:
            grouped.setdefault(match.group(1), {})[match.group(2)] = value
    return {who: Metrics(**values) for who, values in sorted(grouped.items())}


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
