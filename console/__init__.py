"""The 宿事速办 web console (Flask): the intake API and the pages hotline staff use."""
from __future__ import annotations

from flask import Flask

from deploy.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from console import appeals  # noqa: F401 - registers the appeal routes on the blueprint
    from console.api import api, build_spec

    app = Flask(__name__)
    app.config["SUBAN_SETTINGS"] = settings or Settings.from_env()
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.register_blueprint(api)
    app.config["OPENAPI_SPEC"] = build_spec(app)
    return app
