"""REST API v1 (JSON). Routes parse, authorise, run one use case and map errors."""

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")

from server.api import auth_routes, catalogue, counters, exports, openapi, tickets  # noqa: E402,F401
