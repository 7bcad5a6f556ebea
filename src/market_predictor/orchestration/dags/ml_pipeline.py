# The airflow DAG file: point `[core] dags_folder` at this directory to load `ml_pipeline`.
from market_predictor.orchestration.dag import ml_pipeline  # noqa: F401
