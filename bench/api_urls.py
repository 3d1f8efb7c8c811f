"""The hub's URLs plus one bare endpoint, the floor the send API is measured against.

``POST /bench/bare/`` stores the raw body with one INSERT into ``bench_raw`` (a table the
bench creates with raw SQL; it is no Django model) and answers 201. It passes the same
middleware as the real API, and does nothing else.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse, HttpResponseNotAllowed
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from digitalpost.urls import urlpatterns as hub_urlpatterns


@csrf_exempt
def bare(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body = request.body
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_raw (body) VALUES (%s)", [body])
    return HttpResponse(b'{"stored":true}', status=201, content_type="application/json")


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *hub_urlpatterns]
