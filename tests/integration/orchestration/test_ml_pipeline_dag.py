"""The `ml_pipeline` DAG under real Airflow: parsed from the DAG folder, run by
`dag.test()` on a SQLite metadata database, writing to a real store and MLflow."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from market_predictor.config import Settings, get_settings
from market_predictor.registry import list_versions
from market_predictor.store import FeatureStore
from tests.integration.orchestration.conftest import DAGS_FOLDER

UTC = dt.UTC
# After the US close (21:00 UTC in winter): the DAG's default schedule fires at 22:30.
MONDAY_RUN = dt.datetime(2012, 12, 3, 22, 30, tzinfo=UTC)
TUESDAY_RUN = dt.datetime(2012, 12, 4, 22, 30, tzinfo=UTC)
MONDAY = pd.Timestamp("2012-12-03")
CHRISTMAS_RUN = dt.datetime(2012, 12, 25, 22, 30, tzinfo=UTC)

TINY_TRAINING = """
model: mlp
window: 5
hidden_size: 4
max_epochs: 1
batch_size: 64
validation_months: 1
"""


@pytest.fixture
def pipeline(airflow_home: Path, ops_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The DAG as Airflow loads it, over a home with history and a champion to
    2012-11-30; the original's symbols Variable names the home's symbols."""
    monkeypatch.setenv("AIRFLOW_VAR_ML_PIPELINE_SYMBOLS", json.dumps(["AAPL", "MSFT"]))
    from market_predictor.orchestration.dag import ml_pipeline

    return ml_pipeline


@dataclass
class Run:
    state: str
    tasks: dict[str, str]  # task id (mapped ones as `task[index]`) -> state
    dag_id: str
    run_id: str

    def xcom(self, task_id: str) -> Any:
        """A task's result as the next task receives it (JSON)."""
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter_by(dag_id=self.dag_id, run_id=self.run_id, task_id=task_id)
                .filter_by(key="return_value", map_index=-1)
                .one()
            )
            return XComModel.deserialize_value(row)


def run(dag: Any, logical_date: dt.datetime, **conf: Any) -> Run:
    """One `dag.test()` run at `logical_date`."""
    dag_run = dag.test(logical_date=logical_date, run_conf=conf or None)
    states = {
        ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": str(ti.state)
        for ti in dag_run.get_task_instances()
    }
    return Run(str(dag_run.state), states, dag_run.dag_id, dag_run.run_id)


def tables(settings: Settings) -> dict[str, pd.DataFrame]:
    store = FeatureStore.from_settings(settings)
    named = {
        "prices": store.prices().table,
        "predictions": store.predictions,
        "errors": store.errors,
        "summary": store.summary,
    }
    return {name: t.read() if t.exists() else pd.DataFrame() for name, t in named.items()}


def table_versions(settings: Settings) -> dict[str, int | None]:
    return FeatureStore.from_settings(settings).versions()


def test_the_dag_folder_loads_ml_pipeline_with_its_tasks_and_mapping(airflow_home: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    dag = bag.get_dag("ml_pipeline")
    assert dag is not None
    upstream = {task.task_id: task.upstream_task_ids for task in dag.tasks}
    assert upstream == {
        "plan": set(),
        "symbol_batches": {"plan"},
        "ingest": {"plan", "symbol_batches"},
        "predict": {"plan", "ingest"},
        "monitor": {"plan", "predict"},
        "decide_retrain": {"plan", "monitor"},
        "rival_fit_batches": {"plan", "predict", "monitor", "decide_retrain"},
        "fit_rivals": {"plan", "rival_fit_batches"},
        "train_and_gate": {
            "plan",
            "predict",
            "monitor",
            "decide_retrain",
            "rival_fit_batches",
            "fit_rivals",
        },
        "no_retrain": {"decide_retrain"},
        "compact": {"plan", "ingest", "train_and_gate", "no_retrain"},
    }
    ingest = dag.get_task("ingest")
    assert type(ingest).__name__ == "DecoratedMappedOperator"  # one instance per batch
    assert ingest.partial_kwargs["retries"] > 0
    assert ingest.partial_kwargs["retry_exponential_backoff"] > 1
    assert type(dag.get_task("fit_rivals")).__name__ == "DecoratedMappedOperator"
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_a_fresh_airflow_has_param_defaults_from_the_mpp_settings(
    airflow_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from market_predictor.orchestration.dag import build_dag

    monkeypatch.setenv("MPP_SYMBOLS", "IBM,GOOG")
    monkeypatch.setenv("MPP_SCHEDULE", "0 23 * * 1-5")
    monkeypatch.setenv("MPP_INGEST_OVERLAP_DAYS", "9")
    dag = build_dag()
    assert dag.params["symbols"] == ["IBM", "GOOG"]
    assert dag.params["days_delay"] == 9
    assert dag.params["interval"] == "1d"
    assert dag.timetable.expression == "0 23 * * 1-5"


def test_the_scheduled_run_after_monday_close_covers_monday(airflow_home: Path) -> None:
    """The timetable's run for Monday fires after Monday's close, and its data interval
    ends then; Friday's run is the one before it."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    from market_predictor.orchestration.dag import ml_pipeline
    from market_predictor.orchestration.run_config import as_of_for_run

    friday = dt.datetime(2012, 11, 30, 22, 30, tzinfo=UTC)
    timetable = coerce_to_core_timetable(ml_pipeline.timetable)
    restriction = TimeRestriction(earliest=None, latest=None, catchup=True)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(friday, friday), restriction=restriction
    )
    assert info is not None
    assert info.data_interval.end == MONDAY_RUN
    assert as_of_for_run(info.data_interval.end, "XNYS") == dt.date(2012, 12, 3)


def test_a_monday_run_forecasts_tuesday_and_a_rerun_changes_nothing(pipeline: Any) -> None:
    settings = get_settings()
    before = tables(settings)

    first = run(pipeline, MONDAY_RUN)

    assert first.state == "success", first.tasks
    assert first.tasks["train_and_gate"] == "skipped"
    assert first.tasks["no_retrain"] == "success"
    after = tables(settings)
    assert before["predictions"].empty and before["summary"].empty
    new_prices = after["prices"][~after["prices"]["date"].isin(before["prices"]["date"])]
    assert set(new_prices["date"]) == {MONDAY}
    predictions = after["predictions"]
    assert sorted(predictions["symbol"]) == ["AAPL", "MSFT"]
    assert set(predictions["as_of_date"]) == {MONDAY}
    assert set(predictions["target_date"]) == {pd.Timestamp("2012-12-04")}
    assert set(after["summary"]["date"]) == {MONDAY}

    batch = first.xcom("predict")
    assert batch["as_of"] == "2012-12-03" and batch["target_date"] == "2012-12-04"

    assert run(pipeline, MONDAY_RUN).state == "success"
    again = tables(settings)
    for name, frame in after.items():
        pd.testing.assert_frame_equal(frame, again[name], obj=name)


def test_a_holiday_run_succeeds_and_writes_nothing(pipeline: Any) -> None:
    before = table_versions(get_settings())

    holiday = run(pipeline, CHRISTMAS_RUN)

    assert holiday.state == "success"
    assert holiday.tasks.pop("plan") == "success"
    assert set(holiday.tasks.values()) == {"skipped"}, holiday.tasks
    assert table_versions(get_settings()) == before


def test_an_unknown_symbol_fails_only_its_batch_and_the_others_are_predicted(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ML_PIPELINE_SYMBOLS", '["AAPL", "NOSUCH", "MSFT"]')

    partial = run(pipeline, MONDAY_RUN)

    tasks = partial.tasks
    # Documented end state: the failed batch is red, the good symbols flow through
    # predict and monitor, compact waits on every batch, so the run is failed.
    assert tasks["ingest[0]"] == "success"
    assert tasks["ingest[1]"] == "failed"
    assert tasks["ingest[2]"] == "success"
    assert tasks["predict"] == "success" and tasks["monitor"] == "success"
    assert tasks["compact"] == "upstream_failed"
    assert partial.state == "failed"
    predictions = tables(get_settings())["predictions"]
    today = predictions[predictions["as_of_date"] == MONDAY]
    assert sorted(today["symbol"]) == ["AAPL", "MSFT"]


def test_a_bad_variable_fails_the_plan_and_writes_nothing(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ML_PIPELINE_INTERVAL", '"1h"')
    before = table_versions(get_settings())

    refused = run(pipeline, MONDAY_RUN)

    assert refused.state == "failed"
    assert refused.tasks["plan"] == "failed"
    assert table_versions(get_settings()) == before


@pytest.mark.slow  # trains a network: about 40 s
def test_the_retrain_branch_trains_and_gates_when_the_monitor_asks(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_TRAINING)
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(config))
    # The champion's data ends Friday 30 November; by Tuesday it is 2 trading days old.
    monkeypatch.setenv("MPP_MAX_MODEL_AGE_DAYS", "1")
    get_settings.cache_clear()

    tuesday = run(pipeline, TUESDAY_RUN)

    assert tuesday.state == "success", tuesday.tasks
    assert tuesday.tasks["train_and_gate"] == "success"
    assert tuesday.tasks["no_retrain"] == "skipped"
    assert tuesday.xcom("train_and_gate")["status"] == "trained"
    assert list_versions(get_settings())[0]["trained_until"] == "2012-12-04"


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AAPL and MSFT from 2010 (each long enough to fit its own GARCH) to Friday 30
    November 2012, and a persistence-baseline champion trained until then."""
    from market_predictor.ingest import ingest_prices
    from market_predictor.registry import register_baseline

    home = tmp_path_factory.mktemp("long-history") / "home"
    settings = Settings(home=home, source="sample", symbols=["AAPL", "MSFT"])
    ingest_prices(settings, start=dt.date(2010, 1, 4), as_of=dt.date(2012, 11, 30))
    register_baseline(settings, trained_until=dt.date(2012, 11, 30))
    return home


@pytest.mark.slow  # two DAG runs that each train a network: about 90 s
def test_mapped_rival_fits_give_the_retrain_that_training_in_one_task_gives(
    airflow_home: Path, long_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_TRAINING)
    for name, value in {
        "MPP_SOURCE": "sample",
        "MPP_SYMBOLS": "AAPL,MSFT",
        "MPP_TRAINING_CONFIG": str(config),
        "MPP_MAX_MODEL_AGE_DAYS": "1",  # by Tuesday the champion is due for a retrain
        "MPP_FIT_BATCH_SYMBOLS": "1",
        "AIRFLOW_VAR_ML_PIPELINE_SYMBOLS": json.dumps(["AAPL", "MSFT"]),
    }.items():
        monkeypatch.setenv(name, value)
    from market_predictor.orchestration.dag import ml_pipeline

    def retrain(home: str, threshold: int) -> tuple[dict[str, str], dict, dict, pd.DataFrame]:
        """A Tuesday run on a copy of the history: its tasks' states, the retrain's
        result (without its run id), that run's tags and the fits the store holds."""
        monkeypatch.setenv("MPP_HOME", str(tmp_path / home))
        monkeypatch.setenv("MPP_MAPPED_FITS_MIN_SYMBOLS", str(threshold))
        get_settings.cache_clear()
        shutil.copytree(long_history, tmp_path / home)
        done = run(ml_pipeline, TUESDAY_RUN)
        assert done.state == "success", done.tasks
        result = done.xcom("train_and_gate")  # before the next run of this date clears it
        uri = get_settings().resolved_tracking_uri
        tags = MlflowClient(tracking_uri=uri).get_run(result["train"].pop("run_id")).data.tags
        stored = FeatureStore.from_settings(get_settings()).rival_fits.read()
        return done.tasks, result, tags, stored

    mapped, by_batches, mapped_tags, stored = retrain("mapped", threshold=2)
    alone, in_one_task, alone_tags, nothing = retrain("alone", threshold=3)

    assert (mapped["fit_rivals[0]"], mapped["fit_rivals[1]"]) == ("success", "success")
    assert sorted(stored["symbol"]) == ["AAPL", "MSFT"] and stored["params"].notna().all()
    assert mapped_tags["rival_fits"] == "stored"  # training took them, fitted none itself
    assert alone["fit_rivals"] == "skipped" and nothing.empty
    assert "rival_fits" not in alone_tags
    assert by_batches["status"] == "trained"
    assert by_batches["train"]["metrics"]["garch"]["pinball"] > 0
    assert by_batches == in_one_task
