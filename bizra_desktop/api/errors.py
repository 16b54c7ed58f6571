"""Errors as OpenAI reports them: a status and {"error": {"message", "type", "param", "code"}}.

OpenAI clients read `type` and `code` to decide what went wrong (and whether to retry), so the
values are OpenAI's own where one exists.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"


class ApiError(Exception):
    def __init__(
        self,
        status: HTTPStatus,
        message: str,
        *,
        kind: str = INVALID_REQUEST,  # the wire's "type"
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,  # e.g. Allow for 405, WWW-Authenticate for 401
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


def bad_param(param: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, message, param=param, code=code)


def unknown_model(name: str) -> ApiError:
    return ApiError(
        HTTPStatus.NOT_FOUND,
        f"The model '{name}' does not exist; GET /v1/models lists the ones served here.",
        param="model",
        code="model_not_found",
    )
