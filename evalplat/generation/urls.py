from django.urls import path

from evalplat.generation import views

app_name = "generation"
urlpatterns = [
    path("console/<slug:slug>/generate/", views.start, name="start"),
    path("console/<slug:slug>/generate/cancel/", views.cancel, name="cancel"),
    path("console/<slug:slug>/answers/upload/", views.upload_answers, name="upload"),
]
