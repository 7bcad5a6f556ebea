"""The registered pyfunc loads by alias in a fresh process and predicts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.registry import load_champion
from market_predictor.store import FeatureStore
from market_predictor.training import train
from tests.fixtures.ml import FAST_TRAINING

_LOAD_AND_PREDICT = textwrap.dedent(
    """
    import json, sys
    # Hide the installed package: the model must bring its own code.
    sys.path = [p for p in sys.path if not p.rstrip("/").endswith("/src")]
    try:
        import market_predictor
    except ImportError:
        pass
    else:
        raise SystemExit("market_predictor is still importable")
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_registry_uri(sys.argv[1])
    model = mlflow.pyfunc.load_model("models:/market-price-predictor@champion")
    rows = pd.read_json(sys.argv[2], orient="records")
    rows["date"] = pd.to_datetime(rows["date"], unit="ms")
    rows["volume"] = rows["volume"].astype("float64")  # the store's contract: float64
    forecasts = model.predict(rows)
    print(forecasts.to_json(orient="records", date_format="iso"))
    """
)


def predict_in_fresh_process(tracking_uri: str, rows: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """The champion's forecasts for `rows` from `mlflow.pyfunc.load_model` in a new
    Python process where this package is not importable."""
    rows_file = tmp_path / "rows.json"
    rows.to_json(rows_file, orient="records")
    script = tmp_path / "load.py"
    script.write_text(_LOAD_AND_PREDICT)
    completed = subprocess.run(
        [sys.executable, str(script), tracking_uri, str(rows_file)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return pd.DataFrame(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_champion_pyfunc_loads_by_alias_in_a_fresh_process_without_the_package(
    synthetic_store: Settings, tmp_path
) -> None:
    train(synthetic_store, config_overrides={**FAST_TRAINING, "max_epochs": 1})
    prices = FeatureStore.from_settings(synthetic_store).prices().read()
    # Whichever rival won the gate (a one-epoch network may lose to GARCH), send it
    # enough rows to forecast every symbol.
    recent = prices.groupby("symbol").tail(load_champion(synthetic_store).min_history + 5)
    recent = recent[["symbol", "date", "open", "high", "low", "close", "volume"]]
    forecasts = predict_in_fresh_process(synthetic_store.resolved_tracking_uri, recent, tmp_path)
    assert forecasts["symbol"].tolist() == ["AAA", "BBB"]
    expected = load_champion(synthetic_store).predict(recent)
    assert forecasts["predicted_close"].to_numpy() == pytest.approx(
        expected["predicted_close"].to_numpy()
    )
    assert (forecasts["lower"] < forecasts["upper"]).all()


def test_logged_model_has_an_explicit_signature_and_pinned_requirements(
    synthetic_store: Settings,
) -> None:
    import mlflow

    train(synthetic_store, config_overrides={**FAST_TRAINING, "max_epochs": 1})
    uri = "models:/market-price-predictor@champion"
    info = mlflow.models.get_model_info(uri)
    assert info.signature is not None
    assert info.signature.inputs.input_names() == [
        "symbol",
        "date",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    assert "predicted_close" in info.signature.outputs.input_names()
    requirements = Path(mlflow.pyfunc.get_model_dependencies(uri)).read_text().split()
    assert any(line.startswith("torch==2.13.0") for line in requirements)
    assert all("==" in line for line in requirements)
    assert not any(line.startswith("market-price-predictor") for line in requirements)
