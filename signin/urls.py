from django.urls import path

from signin import views

app_name = "signin"
urlpatterns = [
    path("oidc/start/", views.oidc_start, name="oidc-start"),
    path("oidc/callback/", views.oidc_callback, name="oidc-callback"),
    path("sessions/", views.session_page, name="sessions"),
    path("sessions/end-all/", views.logout_everywhere, name="logout-everywhere"),
]
