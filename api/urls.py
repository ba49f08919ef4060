from django.urls import path, re_path

from api import views

app_name = "api"

urlpatterns = [
    # Not an AppFlow path: AppFlow has no operation at /openapi.json.
    path("openapi.json", views.openapi_json, name="openapi"),
    re_path(r"^(?P<path>.*)$", views.dispatch, name="dispatch"),
]
