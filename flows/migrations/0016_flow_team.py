import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # Nullable first; accounts.0002 puts every existing row in the "default" team, then
    # 0017_flow_team_required makes the team required.
    dependencies = [
        ('flows', '0015_execution_admin_filter_indexes'),
        ('accounts', '0001_teams_memberships_grants'),
    ]

    operations = [
        migrations.AddField(
            model_name='flow',
            name='team',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+',
                                    to='accounts.team'),
        ),
    ]
