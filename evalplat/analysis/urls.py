from django.urls import path

from evalplat.analysis import views

app_name = "analysis"
urlpatterns = [
    path("console/<slug:slug>/report/", views.report, name="report"),
    path("console/<slug:slug>/export.zip", views.download, name="download"),
]
