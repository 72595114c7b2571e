"""The site's web application: staff pages and the REST API v1 (FastAPI, Jinja2)."""

from seuil.web.app import WebOptions, create_app

__all__ = ["WebOptions", "create_app"]
