from django.apps import AppConfig


class DemoSaasConfig(AppConfig):
    name = "demo_saas"
    verbose_name = "Sluice Demo CRM"
    default_auto_field = "django.db.models.BigAutoField"
