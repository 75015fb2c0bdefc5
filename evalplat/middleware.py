"""This project's middleware: a clear page when the database is briefly unreachable, and django-csp's
Content-Security-Policy middleware taught to leave a policy a view has written itself.

The database page, not a traceback: every write a request makes runs in one transaction, so a
request cut off here wrote nothing; the page says so and asks for a retry. Django closes the broken
connection at the end of the request (and `CONN_HEALTH_CHECKS` tests a kept one before reuse), so
the next request connects afresh: service returns by itself when the database does.
"""
import logging

from csp.constants import HEADER as CSP_HEADER
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
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


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's middleware, except that a response which carries its policy already is passed on
    as it is: the rater pages build theirs once per process (evalplat.rating.views.rater_page),
    where django-csp would build a policy on every response and then not use it. No report-only
    policy is configured, so there is none to add to such a response."""

    def process_response(self, request, response):
        if CSP_HEADER in response:
            return response
        return super().process_response(request, response)
