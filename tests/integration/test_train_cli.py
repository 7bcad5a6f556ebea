"""`mpp train` and `mpp models` through the CLI: output contract and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings, get_settings
from market_predictor.store import FeatureStore
from market_predictor.training.config import TrainConfig, save_train_config
from market_predictor.training.gate import SCORED

runner = CliRunner()


@pytest.fixture
def small_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A training config file that keeps a CLI run to seconds (MPP_TRAINING_CONFIG)."""
    path = tmp_path / "train.yaml"
    save_train_config(TrainConfig(hidden_size=8, window=10, max_epochs=1), path)
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(path))
    get_settings.cache_clear()
    return path


def _registered(settings: Settings) -> list[str]:
    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return [m.name for m in client.search_registered_models()]


def _datasets(settings: Settings) -> int:
    return len(FeatureStore.from_settings(settings).datasets.list())


@pytest.fixture
def losing_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A training config whose network cannot beat persistence (learning rate 5)."""
    path = tmp_path / "losing.yaml"
    save_train_config(TrainConfig(hidden_size=8, window=10, max_epochs=1, learning_rate=5.0), path)
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(path))
    get_settings.cache_clear()
    return path


def test_train_json_prints_the_summary_and_a_losing_network_leaves_garch_champion(
    real_store: Settings, losing_config: Path
) -> None:
    result = runner.invoke(app, ["train", "--symbols", "aapl", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["version"] == "1" and summary["model_name"] == "market-price-predictor"
    assert summary["decision"] == "rejected_vs_persistence"
    # On AAPL's gate window GARCH(1,1)-t beats persistence, so it is the fallback champion.
    assert (summary["champion_version"], summary["garch_version"]) == ("2", "2")
    assert summary["baseline_version"] is None
    assert not summary["is_baseline"] and not summary["became_champion"]
    assert summary["metrics"]["model"]["pinball"] > summary["metrics"]["persistence"]["pinball"]
    # Every scored name is present; the rivals MPP_RIVALS left out (and the absent
    # champion) are null.
    assert set(summary["metrics"]) == set(SCORED)
    assert {who for who, m in summary["metrics"].items() if m} == {
        "model",
        "persistence",
        "drift",
        "garch",
    }
    assert summary["rival_versions"] == {"garch": "2"}
    assert summary["lineage"]["dataset_symbols"] == "AAPL"
    assert "GARCH(1,1)-t beat the LSTM and persistence" in summary["message"]
    assert summary["metrics"]["drift"]["n"] == summary["metrics"]["persistence"]["n"]


def test_train_prints_a_metrics_table_and_a_plain_outcome_after_it(
    real_store: Settings, small_config: Path
) -> None:
    result = runner.invoke(app, ["train", "--model", "mlp", "--max-epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "Pinball loss" in result.stdout and "Persistence" in result.stdout
    assert "Drift" in result.stdout
    after_table = " ".join(result.stdout.rsplit("Persistence", 1)[-1].split())
    listed = runner.invoke(app, ["models", "list", "--json"])
    assert listed.exit_code == 0
    versions = json.loads(listed.stdout)["versions"]
    champions = [v for v in versions if "champion" in v["aliases"]]
    assert len(champions) == 1
    # The sentence after the table names the version that serves forecasts now.
    assert f"version {champions[0]['version']}" in after_table
    assert "champion" in after_table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "TSLA"], "not in the feature store: TSLA"),
        (["--model", "gru"], "unknown network 'gru'"),
        (["--dataset-version", "7"], "v7 does not exist"),
        (["--start", "2012-11-01"], "too little history for window 10"),
        (["--start", "2012-13-01"], "malformed start date"),
        (["--max-epochs", "0"], "max_epochs must be at least 1"),
        (["--model-name", "bad/name"], "invalid model name"),
    ],
)
def test_bad_train_input_exits_2_and_writes_nothing(
    real_store: Settings, small_config: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["train", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _registered(real_store) == []
    assert _datasets(real_store) == 0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MPP_TRAINING_STRATEGY", "ddp_spawn", "invalid MPP_TRAINING_STRATEGY=ddp_spawn: should"),
        ("MPP_TRAINING_NUM_NODES", "0", "invalid MPP_TRAINING_NUM_NODES=0: should be greater"),
        ("MPP_TRAINING_ACCELERATOR", "cuda", "cannot train on accelerator cuda, devices 1"),
    ],
)
def test_hardware_the_settings_or_the_machine_refuse_exits_2_and_writes_nothing(
    real_store: Settings,
    small_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    message: str,
) -> None:
    import torch

    if value == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    result = runner.invoke(app, ["train", "--json"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {message}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert _registered(real_store) == []
    assert _datasets(real_store) == 0


def test_unreachable_tracking_uri_is_named_and_nothing_is_written(
    real_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    get_settings.cache_clear()
    result = runner.invoke(app, ["train", "--json"])
    assert result.exit_code == 2
    assert "MLflow tracking URI http://127.0.0.1:9 is unreachable" in result.stderr
    assert _datasets(real_store) == 0


def test_models_commands_on_an_empty_registry_say_to_train_first(mlflow_home: Settings) -> None:
    for args in (["models", "list"], ["models", "show"], ["models", "promote", "1"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert "run `mpp train` first" in result.stderr or "has no version" in result.stderr


def test_models_promote_moves_the_champion_and_show_records_the_override(
    mlflow_home: Settings,
) -> None:
    from market_predictor.registry import register_baseline

    first = register_baseline(mlflow_home)
    second = register_baseline(mlflow_home)
    promoted = runner.invoke(app, ["models", "promote", first, "--json"])
    assert promoted.exit_code == 0, promoted.output
    assert json.loads(promoted.stdout)["previous_champion"] == second
    shown = runner.invoke(app, ["models", "show", first, "--json"])
    assert shown.exit_code == 0, shown.output
    described = json.loads(shown.stdout)
    assert described["aliases"] == ["champion"]
    assert described["promoted_by"] == "manual"
    other = runner.invoke(app, ["models", "show", second, "--json"])
    assert json.loads(other.stdout)["aliases"] == []
