"""Airflow orchestration of the daily pipeline (the `[airflow]` extra).

Nothing here imports Airflow at package import: `dag` does, and only Airflow loads it.
"""
