"""The folder to point `dags_folder` at (see the README)."""
