"""The 宿事速办 web console (Flask): the intake API and the pages hotline staff use."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from admin_data.environment import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from console import appeals, assessment, desk, merge, self_query, supervision  # noqa: F401 - routes
    from console.home import home
    from console.jobs import jobs
    from console.layout import init_layout
    from console.admin import init_admin
    from console.api import MAX_BODY_BYTES, api, build_spec
    from console.knowledge import init_knowledge
    from console.open311 import init_open311
    from console.security import init_security

    app = Flask(__name__)
    app.config["SUBAN_SETTINGS"] = settings or Settings.from_env()
    app.config["JSON_AS_ASCII"] = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # larger bodies get 413
    app.json.ensure_ascii = False
    app.register_blueprint(api)
    app.register_blueprint(assessment.pages)
    app.register_blueprint(desk.desk)
    app.register_blueprint(self_query.self_query)
    init_security(app)  # headers, session cookie, login throttle
    init_admin(app)  # login, CSRF protection of forms, the admin pages
    init_knowledge(app)
    init_open311(app)
    app.register_blueprint(home)
    app.register_blueprint(jobs)
    init_layout(app)
    app.config["OPENAPI_SPEC"] = build_spec(app)
    trusted = app.config["SUBAN_SETTINGS"].trusted_proxies
    if trusted:  # behind nginx: the caller's address and scheme as the proxies in front saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)
    return app
