
import django.db.models.deletion
from django.db import migrations, models


def lease_running_executions(apps, schema_editor):
    # Runs claimed before the upgrade keep counting as claimed: a redelivered message must not
    # start them a second time. The reconciler treats them like any other lease.
    Execution = apps.get_model("flows", "Execution")
    Execution.objects.filter(started_at__isnull=False, status__in=["InProgress", "CancelStarted"]).update(
        lease="before-upgrade"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('flows', '0011_flow_guardrails'),
    ]

    operations = [
        migrations.AddField(
            model_name='execution',
            name='attempt',
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='execution',
            name='lease',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.CreateModel(
            name='ExecutionAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('worker', models.CharField(blank=True, max_length=256)),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('outcome', models.CharField(blank=True, max_length=64)),
                ('execution', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempts', to='flows.execution')),
            ],
            options={
                'ordering': ['number'],
                'constraints': [models.UniqueConstraint(fields=('execution', 'number'), name='one_row_per_attempt')],
            },
        ),
        migrations.RunPython(lease_running_executions, migrations.RunPython.noop),
    ]
