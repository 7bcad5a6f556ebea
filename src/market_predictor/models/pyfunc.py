"""The registered model: any Forecaster packaged as an MLflow pyfunc.

The artifact is plain data (JSON parameters, a torch state dict for networks; a
combination as its components, each saved the same way in components/<name>/), not a
pickle, and it carries this package's source (MLflow `code_paths`) with pinned
third-party requirements, so it loads on any machine, with or without the package.
The pyfunc takes a frame of recent price rows for any number of symbols and returns
each symbol's forecast at every horizon (median, 10%/90% prices and the median log
return).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import tempfile
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import pandas as pd
import torch
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types import ColSpec, Schema

from market_predictor.models.baselines import DriftForecaster, PersistenceForecaster
from market_predictor.models.calibration import IntervalCalibration
from market_predictor.models.combined import CombinedForecaster
from market_predictor.models.forecaster import FORECAST_COLUMNS, Forecaster
from market_predictor.models.network_forecaster import NetworkForecaster
from market_predictor.models.rivals import VOLATILITY_FORECASTERS
from market_predictor.models.volatility import VolatilityForecaster

ARTIFACT_KEY = "forecaster"
SPEC_FILE = "forecaster.json"
WEIGHTS_FILE = "weights.pt"
# A combination's components, each saved as a forecaster of its own in <name>/.
COMPONENTS_DIR = "components"

SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec("string", "symbol"),
            ColSpec("datetime", "date"),
            ColSpec("double", "open"),
            ColSpec("double", "high"),
            ColSpec("double", "low"),
            ColSpec("double", "close"),
            ColSpec("double", "volume"),
        ]
    ),
    outputs=Schema(
        [
            ColSpec("string", "symbol"),
            ColSpec("datetime", "as_of_date"),
            ColSpec("double", "last_close"),
            ColSpec("double", "predicted_return"),
            ColSpec("double", "predicted_close"),
            ColSpec("double", "lower"),
            ColSpec("double", "upper"),
        ]
    ),
)

_REQUIREMENTS = ("torch", "lightning", "pandas", "numpy", "scikit-learn", "scipy", "mlflow")


# The package itself travels inside the artifact, so features and forecasters are the
# exact code the model was trained with.
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def pip_requirements() -> list[str]:
    """Exact pins of what the artifact needs to load (no slow environment inference)."""
    return [f"{name}=={metadata.version(name)}" for name in _REQUIREMENTS]


def load_registered(model_uri: str) -> tuple[Forecaster, dict[str, Any]]:
    """The forecaster and spec of a logged model, read from its files.

    In-process callers (the daily job) use this rather than `mlflow.pyfunc.load_model`,
    which would put the artifact's copy of this package ahead of the installed one and
    re-import it mid-run.
    """
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    return load_forecaster(local / "artifacts" / ARTIFACT_KEY)


def forecaster_kind(forecaster: Forecaster) -> str:
    if isinstance(forecaster, NetworkForecaster):
        return "network"
    if isinstance(forecaster, CombinedForecaster):
        return "combined"
    if isinstance(forecaster, VolatilityForecaster):
        return forecaster.kind
    if isinstance(forecaster, DriftForecaster):
        return "drift"
    if isinstance(forecaster, PersistenceForecaster):
        return "persistence"
    raise TypeError(f"cannot package {type(forecaster).__name__}")


def save_forecaster(
    forecaster: Forecaster,
    directory: Path,
    *,
    trained_until: dt.date,
    drift_profile: dict[str, Any],
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    params = forecaster.to_params()  # type: ignore[attr-defined]
    spec = {
        "kind": forecaster_kind(forecaster),
        "params": params,
        "is_baseline": forecaster.is_baseline,
        "min_history": forecaster.min_history,
        "read_rows": forecaster.read_rows,
        "trained_until": trained_until.isoformat(),
        "drift_profile": drift_profile,
        "calibration": None if forecaster.calibration is None else forecaster.calibration.to_dict(),
    }
    (directory / SPEC_FILE).write_text(json.dumps(spec, indent=1))
    if isinstance(forecaster, NetworkForecaster):
        torch.save(forecaster.network.state_dict(), directory / WEIGHTS_FILE)
    if isinstance(forecaster, CombinedForecaster):
        for name, component in forecaster.components.items():
            # The drift reference is the combination's (in its own spec), not repeated.
            save_forecaster(
                component,
                directory / COMPONENTS_DIR / name,
                trained_until=trained_until,
                drift_profile={},
            )


def load_forecaster(directory: Path) -> tuple[Forecaster, dict[str, Any]]:
    """The forecaster in `directory` and its spec (trained_until, drift_profile, ...)."""
    spec = json.loads((Path(directory) / SPEC_FILE).read_text())
    params = spec["params"]
    forecaster: Forecaster
    if spec["kind"] == "network":
        state = torch.load(Path(directory) / WEIGHTS_FILE, weights_only=True)
        forecaster = NetworkForecaster.from_params(params, state)
    elif spec["kind"] in ("drift", "persistence"):
        naive = DriftForecaster if spec["kind"] == "drift" else PersistenceForecaster
        # Saved before horizons: next-day only.
        horizons = params.get("horizons", (1,))
        forecaster = naive(params["quantiles"], z_scores=params["z_scores"], horizons=horizons)
    elif spec["kind"] in VOLATILITY_FORECASTERS:
        forecaster = VOLATILITY_FORECASTERS[spec["kind"]].from_params(params)
    elif spec["kind"] == "combined":
        components = {
            name: load_forecaster(Path(directory) / COMPONENTS_DIR / name)[0]
            for name in params["components"]
        }
        forecaster = CombinedForecaster.from_params(params, components)
    else:
        raise ValueError(f"unknown forecaster kind {spec['kind']!r}")
    if spec.get("calibration"):
        forecaster.calibration = IntervalCalibration.from_dict(spec["calibration"])
    return forecaster, spec


def history_rows(spec: dict[str, Any]) -> tuple[int, int]:
    """A saved forecaster's (min_history, read_rows); one saved before read_rows had
    the daily job read min_history rows."""
    min_history = int(spec["min_history"])
    return min_history, int(spec.get("read_rows", min_history))


def price_rows(model_input: pd.DataFrame) -> pd.DataFrame:
    """Input rows in the shape build_features expects (any date type, any symbol case)."""
    missing = {"symbol", "date", "open", "high", "low", "close", "volume"} - set(model_input)
    if missing:
        raise ValueError(f"price rows lack columns {sorted(missing)}")
    frame = model_input.copy()
    frame["symbol"] = frame["symbol"].astype("str").str.upper()
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    for column in ("open", "high", "low", "close", "volume"):
        frame[column] = frame[column].astype("float64")
    return frame


class ForecasterModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """pyfunc: recent price rows of any symbols -> one next-day forecast per symbol
    that has at least `min_history` rows."""

    def load_context(self, context: Any) -> None:
        self.forecaster, self.spec = load_forecaster(Path(context.artifacts[ARTIFACT_KEY]))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        forecasts = self.forecaster.predict(price_rows(model_input))
        return forecasts.loc[:, FORECAST_COLUMNS].reset_index(drop=True)


def log_forecaster(
    forecaster: Forecaster,
    *,
    trained_until: dt.date,
    drift_profile: dict[str, Any],
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log the forecaster as a pyfunc in the active run (and register it if named)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / ARTIFACT_KEY
        save_forecaster(
            forecaster, directory, trained_until=trained_until, drift_profile=drift_profile
        )
        with warnings.catch_warnings(), _without_pickle_notice():
            # The signature is given explicitly, so an input example would add nothing.
            warnings.filterwarnings("ignore", message=".*input example was not provided.*")
            return mlflow.pyfunc.log_model(
                name="model",
                python_model=ForecasterModel(),
                artifacts={ARTIFACT_KEY: str(directory)},
                pip_requirements=pip_requirements(),
                code_paths=[str(PACKAGE_DIR)],
                signature=SIGNATURE,
                registered_model_name=registered_model_name,
            )


@contextlib.contextmanager
def _without_pickle_notice() -> Iterator[None]:
    """Drop MLflow's notice that the wrapper class is cloudpickled: the wrapper holds no
    state (the forecaster is loaded from plain JSON and weights), so it does not apply."""

    def keep(record: logging.LogRecord) -> bool:
        return "CloudPickle" not in record.getMessage()

    logger = logging.getLogger("mlflow.pyfunc")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)
