from __future__ import annotations

from django.urls import path

from flows import version_views, views, webhook_views
from flows.wizard import views as wizard

app_name = "flows"

urlpatterns = [
    path("", views.flow_list, name="list"),
    # Before <name>/: a flow named "import" is still reachable through its other routes.
    path("import/", views.flow_import, name="import"),
    # The wizard (docs/wizard.md), also before <name>/.
    path("new/", wizard.wizard_new, name="wizard-new"),
    path("drafts/<uuid:draft_id>/discard/", wizard.wizard_discard, name="wizard-discard"),
    path("drafts/<uuid:draft_id>/<slug:step>/", wizard.wizard_step, name="wizard-step"),
    path("<str:name>/edit/", wizard.wizard_edit, name="wizard-edit"),
    path("<str:name>/", views.flow_detail, name="detail"),
    path("<str:name>/run/", views.flow_run, name="run"),
    path("<str:name>/activate/", views.flow_activate, name="activate"),
    path("<str:name>/cancel/", views.flow_cancel_all, name="cancel-all"),
    path("<str:name>/deactivate/", views.flow_deactivate, name="deactivate"),
    path("<str:name>/retries/", views.flow_retries, name="retries"),
    path("<str:name>/guardrails/", views.flow_guardrails, name="guardrails"),
    path("<str:name>/webhook/key/", webhook_views.rotate_key, name="webhook-key"),
    path("<str:name>/webhook/settings/", webhook_views.settings, name="webhook-settings"),
    path("<str:name>/download/", views.flow_download, name="download"),
    path("<str:name>/delete/", views.flow_delete, name="delete"),
    path("<str:name>/versions/", version_views.version_diff, name="version-diff"),
    path("<str:name>/executions/<uuid:execution_id>/", views.execution_detail, name="execution"),
    path("<str:name>/executions/<uuid:execution_id>/cancel/", views.execution_cancel, name="cancel"),
    path("<str:name>/executions/<uuid:execution_id>/retry-rejected/", views.execution_retry_rejected,
         name="retry-rejected"),
]
