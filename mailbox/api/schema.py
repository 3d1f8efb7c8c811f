"""OpenAPI for the NgDP-compatible API (drf-spectacular): Basic auth, and by_method() paths."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import EndpointEnumerator
from drf_spectacular.generators import SchemaGenerator as SpectacularSchemaGenerator


class SystemBasicScheme(OpenApiAuthenticationExtension):
    target_class = "adminaccess.authentication.SystemBasicAuthentication"
    name = "systemBasic"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic", "description": "Basic base64(systemId:apiToken)"}


class ByMethodEndpointEnumerator(EndpointEnumerator):
    """drf-spectacular documents APIViews only; a by_method() path is one view per method."""

    def should_include_endpoint(self, path, callback):
        return hasattr(callback, "views_by_method") or super().should_include_endpoint(path, callback)

    def get_allowed_methods(self, callback):
        if hasattr(callback, "views_by_method"):
            return list(callback.views_by_method)
        return super().get_allowed_methods(callback)

    def get_api_endpoints(self, patterns=None, prefix=""):
        return [
            (path, regex, method, getattr(callback, "views_by_method", {}).get(method, callback))
            for path, regex, method, callback in super().get_api_endpoints(patterns, prefix)
        ]


class SchemaGenerator(SpectacularSchemaGenerator):
    endpoint_inspector_cls = ByMethodEndpointEnumerator
