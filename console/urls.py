from django.contrib import admin
from django.urls import include, path

from console import views
from flows import notification_views, webhook_views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("connections/", include("connections.urls")),
    path("flows/", include("flows.urls")),
    # The bundled Demo CRM; its views answer 404 unless SLUICE_DEMO_SAAS is on.
    path("demo-saas/", include("demo_saas.urls")),
    path("api/appflow/", include("api.urls")),
    path("hooks/<str:token>/", webhook_views.receive, name="webhook"),
    path("notifications/", notification_views.channel_list, name="notifications"),
    path("notifications/<int:pk>/delete/", notification_views.channel_delete, name="notification-delete"),
]
