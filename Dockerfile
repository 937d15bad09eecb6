# syntax=docker/dockerfile:1
# The govkpi image (docker-compose.yml): every Airflow component, dbt, Great Expectations, the
# govkpi package and the simulator in one environment, installed from uv.lock exactly as
# `make install` does (`uv sync --frozen`), plus the `deploy` dependency group (the Celery
# provider). The Cosmos manifest is built at build time with `dbt parse`, as `make manifest` does.
FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.9
ARG GOVKPI_UID=50000

ENV PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/govkpi/.venv \
    GOVKPI_HOME=/opt/govkpi \
    AIRFLOW_HOME=/opt/airflow \
    PATH=/opt/govkpi/.venv/bin:$PATH \
    GX_ANALYTICS_ENABLED=false \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    DO_NOT_TRACK=1

# curl for the health checks; one unprivileged user (group 0, as Airflow's images do) that owns
# the project, Airflow's home and the folders the named volumes are mounted on
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir "uv==${UV_VERSION}" \
    && useradd --uid "${GOVKPI_UID}" --gid 0 --create-home --home-dir /home/govkpi govkpi \
    && mkdir -p /opt/govkpi/reports /opt/airflow/logs /opt/airflow/auth /data/drop \
    && chown -R govkpi:0 /opt/govkpi /opt/airflow /data

USER govkpi
WORKDIR /opt/govkpi

# the locked dependencies first: this layer changes only with uv.lock
COPY --chown=govkpi:0 pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --group deploy --no-install-project

# then the project (installed editable, so govkpi.config finds dags/, dbt_project/ and
# expectations/ under /opt/govkpi) and the Cosmos manifest
COPY --chown=govkpi:0 include ./include
COPY --chown=govkpi:0 dags ./dags
COPY --chown=govkpi:0 dbt_project ./dbt_project
COPY --chown=govkpi:0 expectations ./expectations
RUN uv sync --frozen --no-dev --group deploy \
    && cd dbt_project \
    && dbt parse --profiles-dir . --quiet \
    && test -s target/manifest.json

# api-server, worker log server, the simulator's three systems
EXPOSE 8080 8793 8801 8802 8803
CMD ["airflow", "version"]
