"""The new-experiment page, under console/new/ (included before the rest of the console)."""
from django.urls import path

from evalplat.console import design_views

app_name = "design"
urlpatterns = [
    path("", design_views.new, name="new"),
    path("check/", design_views.check, name="check"),
    path("create/", design_views.create, name="create"),
]
