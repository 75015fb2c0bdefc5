"""The experimenter console, under console/ (the rater pages are rating's, under r/).

The new-experiment page (design_urls) is included before these, under console/new/.
"""
from django.urls import path

from evalplat.console import experiment_views, followup_views, rating_views, result_views

app_name = "console"
urlpatterns = [
    path("", experiment_views.index, name="index"),
    path("<slug:slug>/", experiment_views.detail, name="detail"),
    path("<slug:slug>/rating/", rating_views.rating, name="rating"),
    path("<slug:slug>/rating/status/", rating_views.rating_status, name="rating_status"),
    path("<slug:slug>/rating/invites/", rating_views.invite_create, name="invite_create"),
    path("<slug:slug>/rating/invites/<int:invite_id>/revoke/", rating_views.invite_revoke, name="invite_revoke"),
    path("<slug:slug>/rating/leaks/", rating_views.leak_check, name="leaks"),
    path("<slug:slug>/rating/leaks/answers/<int:answer_id>/exclude/", rating_views.exclude_answer,
         name="exclude_answer"),
    path("<slug:slug>/report/", result_views.report, name="report"),
    path("<slug:slug>/export.zip", result_views.export, name="export"),
    path("<slug:slug>/export/<str:name>", result_views.export_file, name="export_file"),
    path("<slug:slug>/confirm/", followup_views.confirm, name="confirm"),
    path("<slug:slug>/distill/", followup_views.distill, name="distill"),
    path("<slug:slug>/distill/check/", followup_views.distill_check, name="distill_check"),
]
