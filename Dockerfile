# One image for web, worker and beat; docker-compose picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=digitalpost.settings.production \
    DIGITALPOST_VAR_DIR=/var/lib/digitalpost

RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm make \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml package.json ./
RUN pip install --no-cache-dir -e . && npm install --no-audit --no-fund --loglevel=error
COPY . .
# collectstatic needs settings that load; the real secret comes at run time.
RUN SECRET_KEY=build-only-build-only-build-only-build-only-build-only ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput

RUN useradd --system --home /var/lib/digitalpost digitalpost \
 && mkdir -p /var/lib/digitalpost && chown digitalpost /var/lib/digitalpost
USER digitalpost
EXPOSE 8000
CMD ["gunicorn", "digitalpost.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]
