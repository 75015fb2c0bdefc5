"""The site's URLs plus Django's own LoginView, to show that throttling covers any login view."""
from django.contrib.auth.views import LoginView
from django.urls import path

from evalplat.urls import urlpatterns as site

urlpatterns = [
    path("plain-login/", LoginView.as_view(template_name="admin/login.html"), name="plain_login"),
    *site,
]
