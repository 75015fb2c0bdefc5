# TEMPORARY until evalplat/urls.py includes the rating urls. Remove then.
from django.urls import include, path

from evalplat.urls import urlpatterns as site

urlpatterns = [*site, path("", include("evalplat.rating.urls"))]
