from __future__ import annotations

from django.urls import path

from demo_saas import views

app_name = "demo_saas"

urlpatterns = [
    path("", views.home, name="home"),
    path("oauth/authorize", views.authorize, name="authorize"),
    path("oauth/token", views.token, name="token"),
    path("api/v1/me", views.api_me, name="api_me"),
    path("api/v1/objects", views.api_objects, name="api_objects"),
    path("api/v1/objects/<str:obj>", views.api_records, name="api_records"),
]
