from django.urls import re_path

from api import views

app_name = "api"

urlpatterns = [
    re_path(r"^(?P<path>.*)$", views.dispatch, name="dispatch"),
]
