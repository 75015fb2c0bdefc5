"""The rater pages, under r/ (the console's rating pages are evalplat/console's).

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
]
