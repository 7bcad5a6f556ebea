-- One PostgreSQL server, one database per consumer: MLflow's backend store and
-- Airflow's metadata. Run once by the postgres image on an empty data volume.
CREATE DATABASE mlflow;
CREATE DATABASE airflow;
