from django.apps import AppConfig


class RatingConfig(AppConfig):
    name = "evalplat.rating"
    label = "rating"
