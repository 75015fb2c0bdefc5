"""Login throttling: django-axes's backend, for logins that come through a web request.

Every login view (the admin's, Django's LoginView, the console's) passes the request to
authenticate(), and those are what an attacker can reach; django-axes counts their failures
and refuses a locked-out username before any password is checked. authenticate() called
without a request (a management command, the test client's login()) is server-side code
with nothing to throttle, so it goes on to the next backend instead of raising, as the stock
backend does.
"""
from axes.backends import AxesStandaloneBackend


class ThrottledLogins(AxesStandaloneBackend):
    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
