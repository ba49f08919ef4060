import django.db.models.deletion
from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):

    dependencies = [
        ('connections', '0008_connection_team'),
        ('accounts', '0002_default_team'),
    ]

    operations = [
        migrations.AlterField(
            model_name='connection',
            name='team',
            field=models.ForeignKey(default=accounts.models.default_team_id,
                                    on_delete=django.db.models.deletion.PROTECT, related_name='+',
                                    to='accounts.team'),
        ),
    ]
