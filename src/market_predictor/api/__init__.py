"""The prediction API (FastAPI, the `[api]` extra): `create_app()` in `app.py`."""
