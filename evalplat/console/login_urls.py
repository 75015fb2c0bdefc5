"""The console's own login and logout, at the site root (/login/, /logout/): outside console/,
so no experiment's name can ever collide with them.

Django's LoginView passes the request to authenticate(), so django-axes throttles these logins
like the admin's (evalplat/login_throttle.py); LogoutView accepts only POST (the layout's
"Log out" button), so a link or an image on some page cannot log the experimenter out.
"""
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(
        redirect_authenticated_user=True, extra_context={"failure_limit": settings.AXES_FAILURE_LIMIT}), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
