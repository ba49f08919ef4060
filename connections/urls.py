from __future__ import annotations

from django.urls import path

from connections import views

app_name = "connections"

urlpatterns = [
    path("", views.connection_list, name="list"),
    # AppFlow allows "/" in connection names, hence path: rather than str:.
    path("<path:name>/", views.connection_detail, name="detail"),
]
