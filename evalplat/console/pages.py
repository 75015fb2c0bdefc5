"""What every console page shares: a login, and a strict Content-Security-Policy.

The console shows model output and experimenters' own text (design files, level texts, rater
notes), so its pages get the same second wall as the rater pages: no script runs but a page's
own nonce'd block, nothing loads from outside, and forms and fetches go only to this site.
"""
import secrets
from functools import wraps

from django.contrib.auth.decorators import login_required


def console_page(view):
    """A strict CSP with a per-response nonce (`request.csp_nonce` for a page's own script)."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{request.csp_nonce}'; style-src 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        return response
    return wrapped


def experimenter_page(view):
    """A console page for a logged-in experimenter (the login page itself is the only one without)."""
    return login_required(console_page(view))
