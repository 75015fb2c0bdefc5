from django.urls import path

from evalplat.experiments import views

app_name = "console"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.detail, name="detail"),
]
