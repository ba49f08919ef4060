from __future__ import annotations

from django.urls import path

from connections import package_views, spec_views, views
from connections.oauth import views as oauth_views

app_name = "connections"

# Fixed routes first, under "-/" where they could clash with a name: AppFlow allows "/" in
# connection names (hence path: rather than str:), so "<name>/edit/" is tried before "<name>/".
urlpatterns = [
    path("", views.connection_list, name="list"),
    path("-/new/<str:key>/", views.connection_create, name="create"),
    path("-/packages/", package_views.package_list, name="packages"),
    path("-/packages/<str:label>/register/", package_views.package_register, name="package-register"),
    path("-/packages/<str:label>/update/", package_views.package_update, name="package-update"),
    path("-/packages/<str:label>/unregister/", package_views.package_unregister, name="package-unregister"),
    path("oauth/<str:key>/start/", oauth_views.oauth_start, name="oauth_start"),
    path("oauth/<str:key>/callback/", oauth_views.oauth_callback, name="oauth_callback"),
    path("<path:name>/edit/", views.connection_edit, name="edit"),
    path("<path:name>/delete/", views.connection_delete, name="delete"),
    path("<path:name>/test/", views.connection_test, name="test"),
    path("<path:name>/tests/<uuid:test_id>/", views.connection_test_status, name="test_status"),
    path("<path:name>/facts/", views.connection_facts, name="facts"),
    path("<path:name>/spec/export/", spec_views.export, name="spec_export"),
    path("<path:name>/metadata/refresh/", views.connection_metadata_refresh, name="metadata_refresh"),
    path("<path:name>/", views.connection_detail, name="detail"),
]
