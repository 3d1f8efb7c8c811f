"""What every operation of the NgDP-compatible API shares: who may call, and how errors look.

Errors use NgDP's body: ``{code, message, fieldErrors: [{resource, field, code, message,
rejectedValue}]}``. Each operation is its own APIView; where NgDP puts two operations on one
path (GET and POST ``/memos/``), :func:`by_method` sends each method to its own view.
"""

from __future__ import annotations

import orjson
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from adminaccess.authentication import SystemBasicAuthentication
from adminaccess.models import System


def error_body(code: str, message: str, field_errors=()) -> dict:
    return {
        "code": code,
        "message": message,
        "fieldErrors": [
            {
                "resource": e.resource,
                "field": e.field,
                "code": e.code,
                "message": e.message,
                "rejectedValue": e.rejected_value,
            }
            for e in field_errors
        ],
    }


def error_response(status_code: int, code: str, message: str, field_errors=()) -> Response:
    return Response(error_body(code, message, field_errors), status=status_code)


def json_error(status_code: int, code: str, message: str) -> HttpResponse:
    """An error in NgDP's body, answered without DRF (outside its views)."""
    return HttpResponse(
        orjson.dumps(error_body(code, message)), status=status_code, content_type="application/json"
    )


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any path under ``/apis/`` that names no operation: a 404 in NgDP's error body, where the
    site would answer its HTML page (a system's client reads JSON). Where the path names an
    operation once a slash is added, GET and HEAD are redirected there, as Django's
    ``APPEND_SLASH`` does elsewhere; any other method is told the path, since a redirect
    would lose its body."""
    path = request.path_info
    if not path.endswith("/") and _names_operation(request, path + "/"):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        return json_error(
            status.HTTP_404_NOT_FOUND,
            "NOT_FOUND",
            f"No API operation at {request.path}; the operation's path ends in a slash: {request.path}/",
        )
    return json_error(
        status.HTTP_404_NOT_FOUND,
        "NOT_FOUND",
        f"No API operation at {request.path}. Messages and receipts are named by their UUID,"
        " as in /apis/v1/memos/<messageUUID>.",
    )


def _names_operation(request, path: str) -> bool:
    try:
        match = resolve(path, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return match.func is not not_found


_CODES = {
    exceptions.NotAuthenticated: "UNAUTHORIZED",
    exceptions.AuthenticationFailed: "UNAUTHORIZED",
    exceptions.PermissionDenied: "FORBIDDEN",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.ParseError: "BAD_REQUEST",
    exceptions.ValidationError: "BAD_REQUEST",
    exceptions.Throttled: "TOO_MANY_REQUESTS",
}


def exception_handler(exc, context):
    """DRF's errors in NgDP's shape."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", None)
    if not (isinstance(code, str) and code.isupper()):
        code = next((c for t, c in _CODES.items() if isinstance(exc, t)), "ERROR")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    message = detail if isinstance(detail, str) else "; ".join(str(d) for d in _flatten(detail))
    response.data = error_body(code, str(message))
    return response


def _flatten(detail):
    if isinstance(detail, dict):
        for value in detail.values():
            yield from _flatten(value)
    elif isinstance(detail, list):
        for value in detail:
            yield from _flatten(value)
    else:
        yield detail


class IsSystemOfKind(BasePermission):
    kind: str = ""

    def has_permission(self, request, view) -> bool:
        system = request.auth
        if not isinstance(system, System):
            raise exceptions.NotAuthenticated("Authenticate with Basic systemId:apiToken.")
        if system.kind != self.kind:
            raise exceptions.PermissionDenied(f"This operation is for {self.kind.lower()} systems.")
        return True


class IsSenderSystem(IsSystemOfKind):
    kind = System.Kind.SENDER


class IsRecipientSystem(IsSystemOfKind):
    kind = System.Kind.RECIPIENT


class SystemAPIView(APIView):
    authentication_classes = [SystemBasicAuthentication]
    permission_classes = [IsSenderSystem]


def by_method(**views):
    """One path, one view per HTTP method (NgDP puts send and pull both on /memos/)."""
    handlers = {method.upper(): view for method, view in views.items()}

    @csrf_exempt
    def dispatch(request, *args, **kwargs):
        handler = handlers.get(request.method)
        if handler is None:
            allowed = ", ".join(handlers)
            response = json_error(
                status.HTTP_405_METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not an operation on {request.path}; it takes {allowed}.",
            )
            response["Allow"] = allowed
            return response
        return handler(request, *args, **kwargs)

    # For the OpenAPI schema (mailbox/api/schema.py): which view documents which method (a
    # plain view function names the APIView that documents it as ``documented_by``).
    dispatch.views_by_method = {method: getattr(v, "documented_by", v) for method, v in handlers.items()}
    return dispatch


HTTP_413 = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
