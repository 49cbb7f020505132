"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, jsonify

SPEC_PATH = Path(__file__).with_name("openapi.json")

bp = Blueprint("api_spec", __name__, url_prefix="/api/v1")


@cache
def openapi_document() -> dict:
    """The document as written in openapi.json (tests/test_openapi.py holds it to the implementation)."""
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi():
    """The API's description, for client generators and for schemathesis."""
    return jsonify(openapi_document())
