"""The Celery application. Workers: see README ("Generating answers")."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalplat.settings")

app = Celery("evalplat")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
