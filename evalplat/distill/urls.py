from django.urls import path

from evalplat.distill import views

app_name = "distill"
urlpatterns = [
    path("console/<slug:slug>/confirm/", views.confirm, name="confirm"),
    path("console/<slug:slug>/distill/", views.distill, name="distill"),
    path("console/<slug:slug>/distill/check/", views.distill_check, name="check"),
]
