"""The console's Generation step (the `generation` namespace, which links elsewhere use)."""
from django.urls import path

from evalplat.console import generation_views as views

app_name = "generation"
urlpatterns = [
    path("console/<slug:slug>/generation/", views.page, name="page"),
    path("console/<slug:slug>/generation/status/", views.status, name="status"),
    path("console/<slug:slug>/generate/", views.start, name="start"),
    path("console/<slug:slug>/generate/retry/", views.retry, name="retry"),
    path("console/<slug:slug>/generate/cancel/", views.cancel, name="cancel"),
    path("console/<slug:slug>/answers/", views.answers, name="answers"),
    path("console/<slug:slug>/answers/upload/", views.upload_answers, name="upload"),
    path("console/<slug:slug>/answers/<int:answer_id>/exclude/", views.exclude, name="exclude"),
]
