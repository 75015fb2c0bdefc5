"""A clear page, not a traceback, when the database is briefly unreachable.

Every write a request makes runs in one transaction, so a request cut off here wrote
nothing; the page says so and asks for a retry. Django closes the broken connection
at the end of the request (and `CONN_HEALTH_CHECKS` tests a kept one before reuse),
so the next request connects afresh: service returns by itself when the database does.
"""
import logging

from django.db import InterfaceError, OperationalError
from django.template.loader import render_to_string
from django.http import HttpResponse

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.error("database unavailable on %s %s: %s", request.method, request.path, exception)
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "10"
        response["Cache-Control"] = "no-store"
        return response
