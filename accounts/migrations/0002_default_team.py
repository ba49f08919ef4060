from django.db import migrations

ADMIN = 4  # accounts.models.Role.ADMIN


def into_default_team(apps, schema_editor):
    """Everything made before teams existed (the demo included) belongs to the "default" team;
    the superusers and staff become its Admins, so nobody loses what they could do."""
    Team = apps.get_model("accounts", "Team")
    Membership = apps.get_model("accounts", "Membership")
    team, _ = Team.objects.get_or_create(name="default")
    for label in ("flows.Flow", "connections.Connection"):
        apps.get_model(label).objects.filter(team__isnull=True).update(team=team)
    User = apps.get_model("auth", "User")
    for user in User.objects.filter(is_superuser=True) | User.objects.filter(is_staff=True):
        Membership.objects.get_or_create(user=user, team=team, defaults={"role": ADMIN})


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_teams_memberships_grants'),
        ('flows', '0016_flow_team'),
        ('connections', '0008_connection_team'),
    ]

    operations = [migrations.RunPython(into_default_team, migrations.RunPython.noop)]
