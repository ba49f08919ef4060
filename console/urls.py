from django.contrib import admin
from django.urls import include, path, re_path

from api import key_views
from api import views as api_views
from console import views
from flows import notification_views, webhook_views

# The admin's app sidebar would take a quarter of a 1280 px window from the execution list.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("connections/-/connect-demo/", views.connect_demo, name="connect-demo"),
    path("connections/", include("connections.urls")),
    path("", include("accounts.urls")),
    path("flows/", include("flows.urls")),
    # The bundled Demo CRM; its views answer 404 unless SLUICE_DEMO_SAAS is on.
    path("demo-saas/", include("demo_saas.urls")),
    path("api/appflow/", include("api.urls")),
    path("audit/", include("audit.urls")),
    path("signin/", include("signin.urls")),
    path("access-keys/", key_views.key_list, name="access-keys"),
    path("api-reference/", api_views.reference, name="api-reference"),
    re_path(r"^access-keys/(?P<access_key_id>\w+)/(?P<action>activate|deactivate|delete)/$",
            key_views.key_action, name="access-key-action"),
    path("hooks/<str:token>/", webhook_views.receive, name="webhook"),
    path("notifications/", notification_views.channel_list, name="notifications"),
    path("notifications/<int:pk>/delete/", notification_views.channel_delete, name="notification-delete"),
]
