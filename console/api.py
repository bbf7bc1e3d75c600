"""Version 1 of the console's JSON API; every response body passes a marshmallow schema."""
from __future__ import annotations

import functools
import hmac

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify, request
from marshmallow import Schema, fields

from deploy.directory import UNIT_KINDS, load_directory
from deploy.settings import Settings
from deploy.stack import engine_healthy

api = Blueprint("api_v1", __name__, url_prefix="/api/v1")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok while the console runs"})
    engine = fields.String(required=True, metadata={"description": "up or down"})


class UnitOutSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    kind_name = fields.String(required=True, metadata={"description": "单位类型中文名"})
    territorial = fields.Boolean(required=True, metadata={"description": "属地单位 (乡镇/街道/经开区)"})


class UnitListSchema(Schema):
    units = fields.List(fields.Nested(UnitOutSchema), required=True)


def _settings() -> Settings:
    return current_app.config["SUBAN_SETTINGS"]


def requires_token(view):
    """Every call but health and the OpenAPI document carries `Authorization: Bearer <token>`."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        supplied = request.headers.get("Authorization", "")
        expected = f"Bearer {_settings().api_token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return jsonify({"errors": {"Authorization": [
                "缺少或错误的访问令牌 (send 'Authorization: Bearer <token>')"]}}), 401
        return view(*args, **kwargs)
    checked.requires_token = True
    return checked


def responds_with(schema: Schema):
    """Serialize the view's return value with `schema`, so no field leaves unchecked."""
    def wrap(view):
        @functools.wraps(view)
        def serialized(*args, **kwargs):
            return jsonify(schema.dump(view(*args, **kwargs)))
        serialized.response_schema = schema
        return serialized
    return wrap


@api.get("/health")
@responds_with(HealthSchema())
def health():
    """Console health, and whether the engine answers."""
    return {"status": "ok", "engine": "up" if engine_healthy(_settings()) else "down"}


@api.get("/units")
@requires_token
@responds_with(UnitListSchema())
def units():
    """The directory of units (townships, departments, offices)."""
    directory = load_directory()
    return {"units": [{"id": unit.id, "name": unit.name, "kind": unit.kind,
                       "kind_name": UNIT_KINDS[unit.kind], "territorial": unit.territorial}
                      for unit in directory.units]}


@api.get("/openapi.json")
def openapi():
    """This API's OpenAPI document, generated from its marshmallow schemas."""
    return jsonify(current_app.config["OPENAPI_SPEC"])


def build_spec(app: Flask) -> dict:
    spec = APISpec(title="宿事速办 API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(api.name + "."):
            continue
        view = app.view_functions[rule.endpoint]
        schema = getattr(view, "response_schema", None)
        status = str(getattr(view, "response_status", 200))
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = {"summary": (view.__doc__ or "").strip().splitlines()[0] if view.__doc__
                         else rule.endpoint, "responses": {status: {"description": "OK"}}}
            if schema is not None:
                operation["responses"][status]["content"] = {
                    "application/json": {"schema": type(schema)}}
            if getattr(view, "request_schema", None) is not None:
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": view.request_schema}}}
                operation["responses"]["400"] = {"description": "字段错误", "content": {
                    "application/json": {"schema": "ErrorSchema"}}}
            if getattr(view, "requires_token", False):
                operation["security"] = [{"token": []}]
                operation["responses"]["401"] = {"description": "缺少或错误的访问令牌"}
            for argument in rule.arguments:
                operation.setdefault("parameters", []).append(
                    {"in": "path", "name": argument, "required": True,
                     "schema": {"type": "string"}})
            spec.path(path=path, operations={method.lower(): operation})
    return spec.to_dict()
