# Huitouke image for docker-compose.yml: the app, its front-end libraries from npm, pg_dump.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HUITOUKE_DATA_DIR=/var/lib/huitouke \
    HUITOUKE_NODE_MODULES=/app/node_modules
# postgresql-client 15 (Debian bookworm) for `huitouke backup` / `restore`: keep the server at 15.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/huitouke --create-home huitouke
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .
COPY --from=assets /app/node_modules ./node_modules
USER huitouke
EXPOSE 8000
CMD ["gunicorn", "-c", "python:huitouke.ops.gunicorn_conf", "--bind", "0.0.0.0:8000", "huitouke.wsgi:application"]
