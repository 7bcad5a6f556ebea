# One image for every Market Price Predictor service: the API (`mpp serve`), the
# dashboard (`mpp dashboard`), the pipeline tasks (`mpp daily`, `mpp ingest`, ...), the
# MLflow server (`mlflow server`) and Airflow (`airflow scheduler`, ...), which runs the
# package's DAG. compose.yaml picks the command per service.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPP_HOME=/var/lib/mpp \
    AIRFLOW_HOME=/opt/airflow

# libgomp1: torch's and scikit-learn's OpenMP runtime; tini reaps the children of
# `mpp up`-style launchers and forwards SIGTERM so services stop cleanly.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/*

# Extra pip requirements baked in, e.g. the Celery executor's provider
# (compose.celery.yaml sets it) or the Kubernetes one.
ARG EXTRA_PACKAGES=""

WORKDIR /opt/mpp
# Dependencies first (pinned in pyproject.toml), so a source change reuses this layer.
COPY pyproject.toml README.md LICENSE ./
RUN mkdir -p src/market_predictor \
    && touch src/market_predictor/__init__.py \
    && pip install ".[all]" $EXTRA_PACKAGES \
    && pip uninstall --yes market-price-predictor
COPY src ./src
RUN pip install --no-deps . \
    && python -c "import market_predictor.cli" \
    # Airflow reads the package's DAG file from the installed package.
    && ln -s "$(python -c 'import market_predictor.orchestration.dags as d, os; print(os.path.dirname(d.__file__))')" /opt/mpp/dags

RUN useradd --create-home --uid 10001 mpp \
    && mkdir -p "$MPP_HOME" "$AIRFLOW_HOME" \
    && chown mpp "$MPP_HOME" "$AIRFLOW_HOME"
USER mpp
ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/mpp/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

ENTRYPOINT ["tini", "--", "mpp"]
CMD ["--help"]
