"""What every extracted service shares and no service owns: the service kit.

One module per concern, none importing a service: ``settings`` (the settings every service reads),
``engine`` (its database engine), ``migrations`` (Alembic on a version table of its own), ``web`` (the
Flask app's common wiring: security headers, reason phrases, slash redirects), ``responses`` (JSON
bodies as the monolith writes them), ``methods`` (405 answers), ``csrf`` (Django-compatible CSRF),
``health`` (``/healthz`` and ``/readyz``), ``observability`` (request-id JSON logs, Prometheus metrics),
``wsgi`` (the app built lazily for gunicorn) and ``gunicorn_config`` (the server's settings). Import
the module you need; this package imports nothing itself.
"""
