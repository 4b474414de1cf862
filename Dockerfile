# zielflow: one image for the api, worker, beat and migrate services (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Copy only what the package needs; the build context also holds .venv/, .git/ and var/.
COPY pyproject.toml README.md ./
COPY workflow ./workflow
COPY api ./api
COPY notifications ./notifications
COPY templates ./templates
# Editable, so the package finds templates/ and examples/ beside it in /app.
COPY examples ./examples
RUN pip install -e .

# Run as an unprivileged user; var/ is the only directory it writes to.
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin zielflow \
    && mkdir -p /app/var \
    && chown zielflow:zielflow /app/var
USER zielflow

EXPOSE 8000
# No ENTRYPOINT: docker-compose.yml sets each service's command (serve, worker, beat, db upgrade).
CMD ["zielflow", "serve", "--host", "0.0.0.0"]
