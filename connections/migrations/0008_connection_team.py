import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # Nullable first; accounts.0002 puts every existing row in the "default" team, then
    # 0009_connection_team_required makes the team required.
    dependencies = [
        ('connections', '0007_spec_versions'),
        ('accounts', '0001_teams_memberships_grants'),
    ]

    operations = [
        migrations.AddField(
            model_name='connection',
            name='team',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+',
                                    to='accounts.team'),
        ),
    ]
