"""`mpp tune`: Optuna trials as nested MLflow runs; the best config becomes the training config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings
from market_predictor.training.config import NETWORK_NAMES, load_train_config
from market_predictor.tuning import HIDDEN_CHOICES, WINDOW_CHOICES
from tests.fixtures.ml import sample_prices, store_prices

runner = CliRunner()

# One one-month fold (December 2012) per trial, one epoch: a trial takes seconds.
CHEAP = ["--symbols", "AAPL,MSFT", "--folds", "1", "--retrain-every", "1M", "--max-epochs", "1"]


def _runs(settings: Settings) -> list:
    client = MlflowClient(tracking_uri=settings.resolved_tracking_uri)
    experiment = client.get_experiment_by_name(settings.experiment_name)
    return client.search_runs([experiment.experiment_id]) if experiment else []


def test_each_trial_is_a_nested_run_and_the_best_config_is_saved(real_store: Settings) -> None:
    result = runner.invoke(app, ["tune", "--trials", "2", *CHEAP, "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)

    assert summary["trials"] == 2
    assert summary["completed"] + summary["pruned"] + summary["failed"] == 2
    assert (summary["start"], summary["end"], summary["folds"]) == ("2012-12-01", "2012-12-31", 1)
    assert 0.0 < summary["best_pinball"] < 0.02
    assert 0.0 < summary["persistence_pinball"] < 0.02
    params = summary["best_params"]
    assert params["model"] in NETWORK_NAMES
    assert params["window"] in WINDOW_CHOICES
    assert params["hidden_size"] in HIDDEN_CHOICES

    runs = _runs(real_store)
    parents = [r for r in runs if r.data.tags.get("kind") == "tuning"]
    assert [p.info.run_id for p in parents] == [summary["parent_run_id"]]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == summary["parent_run_id"]]
    assert sorted(r.data.tags["optuna_trial"] for r in trials) == ["0", "1"]
    best = next(r for r in trials if r.data.tags["optuna_trial"] == str(summary["best_trial"]))
    assert best.data.metrics["val_pinball"] == pytest.approx(summary["best_pinball"])
    assert best.data.params["model"] == params["model"]
    assert parents[0].data.metrics["best_val_pinball"] == pytest.approx(summary["best_pinball"])

    # Saved under MPP_HOME; loading that file gives exactly the best trial's choices.
    path = Path(summary["config_path"])
    assert path == real_store.resolved_home / "train.yaml"
    saved = load_train_config(real_store.model_copy(update={"training_config": path}))
    for name, value in params.items():
        assert getattr(saved, name) == pytest.approx(value)
    # --max-epochs 1 only made the trials cheap; training keeps its own epoch budget.
    assert saved.max_epochs == load_train_config(real_store).max_epochs > 1
    assert not list(path.parent.glob(".train.yaml.*"))


def test_tuned_config_goes_to_the_configured_training_config_path(
    real_store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "configs" / "tuned.yaml"
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(target))
    from market_predictor.config import get_settings

    get_settings.cache_clear()
    result = runner.invoke(app, ["tune", "--trials", "1", *CHEAP])
    assert result.exit_code == 0, result.stderr
    assert str(target) in result.stdout.replace("\n", "")
    assert "persistence" in result.stdout
    tuned = load_train_config(get_settings())
    assert tuned.model in NETWORK_NAMES
    assert not (real_store.resolved_home / "train.yaml").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--trials", "0"], "--trials"),
        (["--folds", "0"], "--folds"),
        (["--retrain-every", "3X"], "--retrain-every"),
        (["--symbols", "ZZZZ"], "ZZZZ"),
        (["--end", "2012-02-30"], "malformed --end date"),
        (["--end", "2011-03-01"], "too little history"),
        (["--max-epochs", "0"], "max-epochs"),
        (["--timeout", "-5"], "--timeout"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    settings: Settings, arguments: list[str], message: str
) -> None:
    store_prices(settings, sample_prices())
    result = runner.invoke(app, ["tune", *arguments])
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert not (settings.resolved_home / "train.yaml").exists()
    assert not (settings.resolved_home / "mlflow.db").exists()
