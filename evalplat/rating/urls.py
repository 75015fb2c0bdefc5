"""Rater pages under r/, the rating pages of the console under console/<slug>/rating/.

Include at the site root: path("", include("evalplat.rating.urls")).
"""
from django.urls import path

from evalplat.rating import views

app_name = "rating"
urlpatterns = [
    path("r/welcome/", views.welcome, name="welcome"),
    path("r/next/", views.next_item, name="next"),
    path("r/done/", views.done, name="done"),
    path("r/a/<str:public_id>/", views.item, name="item"),
    path("r/a/<str:public_id>/problem/", views.report, name="report"),
    path("r/<str:token>/", views.start, name="start"),
    path("console/<slug:slug>/rating/", views.console_rating, name="console"),
    path("console/<slug:slug>/rating/status/", views.console_rating_status, name="console_status"),
    path("console/<slug:slug>/rating/invites/", views.console_invite_create, name="console_invite_create"),
    path("console/<slug:slug>/rating/invites/<int:invite_id>/revoke/", views.console_invite_revoke,
         name="console_invite_revoke"),
    path("console/<slug:slug>/rating/leaks/", views.console_leaks, name="console_leaks"),
    path("console/<slug:slug>/rating/leaks/answers/<int:answer_id>/exclude/", views.console_exclude_answer,
         name="console_exclude_answer"),
]
