import json

from django.db import migrations, models


def fill_from_current_versions(apps, schema_editor):
    # The same reading as flows.services.searchable_parts, frozen here as migrations must be.
    Flow = apps.get_model("flows", "Flow")

    def key(config):
        config = config if isinstance(config, dict) else {}
        if config.get("connectorType") == "CustomConnector":
            return str(config.get("connectorLabel") or "")
        return str(config.get("connectorType") or "")

    for flow in Flow.objects.exclude(current_version=None).select_related("current_version").iterator():
        try:
            document = json.loads(flow.current_version.document)
        except ValueError:
            continue
        destinations = document.get("destinationFlowConfigList") or [{}]
        tags = document.get("tags") if isinstance(document.get("tags"), dict) else {}
        Flow.objects.filter(pk=flow.pk).update(
            source_connector=key(document.get("sourceFlowConfig")),
            destination_connector=key(destinations[0]),
            tags_text="\n".join(f"{name}={value}" for name, value in sorted(tags.items())),
        )


class Migration(migrations.Migration):

    dependencies = [
        ('flows', '0012_execution_attempts'),
    ]

    operations = [
        migrations.AddField(
            model_name='flow',
            name='destination_connector',
            field=models.CharField(blank=True, max_length=256),
        ),
        migrations.AddField(
            model_name='flow',
            name='source_connector',
            field=models.CharField(blank=True, max_length=256),
        ),
        migrations.AddField(
            model_name='flow',
            name='tags_text',
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(fill_from_current_versions, migrations.RunPython.noop),
    ]
