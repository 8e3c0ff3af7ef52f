# One image for every process of the stack; docker-compose.yml picks the command per container.
# BASE_IMAGE: any image with Python 3.11 and pip on PATH (the public python:3.11-slim by default).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STRANGLER_HOME=/var/lib/strangler

WORKDIR /app

# The locked versions first (a layer of their own, rebuilt only when the lock changes), then the project.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY strangler_django ./strangler_django
COPY legacy_monolith ./legacy_monolith
COPY strangler_proxy ./strangler_proxy
COPY new_services ./new_services
COPY acl ./acl
COPY migration_plan ./migration_plan
RUN pip install --no-deps .

COPY loadtests ./loadtests
COPY plans ./plans

RUN useradd --system --create-home --home-dir /home/strangler strangler \
    && mkdir -p "$STRANGLER_HOME" /run/strangler-secrets \
    && chown strangler "$STRANGLER_HOME" /run/strangler-secrets \
    && chmod 0700 /run/strangler-secrets
USER strangler

# A health probe without curl: `python -m` one-liner used by every container's healthcheck.
CMD ["strangler", "--help"]
