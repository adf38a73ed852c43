"""The three broadcast topics, and a database rule that keeps the audit log append-only."""

from django.db import migrations

TOPICS = [
    # key, kind, German name, English name, German description, English description, default, position
    (
        "stoerungen", "outage", "Störungen", "Outages",
        "Ausfälle städtischer Dienste, z. B. wenn das Bürgerbüro geschlossen bleiben muss.",
        "Outages of city services, e.g. when the citizens' office has to stay closed.",
        True, 1,
    ),
    (
        "aktionen", "campaign", "Aktionen", "Campaigns",
        "Mitmach-Aktionen und Veranstaltungen der Stadt, z. B. das Wunschfenster.",
        "Campaigns and events of the city, e.g. the wish window.",
        False, 2,
    ),
    (
        "nachrichten", "news", "Nachrichten", "News",
        "Neuigkeiten aus dem Rathaus.",
        "News from the town hall.",
        False, 3,
    ),
]

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION push_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'push_auditentry is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER push_audit_append_only
    BEFORE UPDATE ON push_auditentry
    FOR EACH ROW EXECUTE FUNCTION push_audit_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS push_audit_append_only ON push_auditentry;
DROP FUNCTION IF EXISTS push_audit_append_only();
"""


def create_topics(apps, schema_editor):
    Topic = apps.get_model("push", "Topic")
    for key, kind, name_de, name_en, desc_de, desc_en, default, position in TOPICS:
        Topic.objects.update_or_create(
            key=key,
            defaults={
                "kind": kind, "name_de": name_de, "name_en": name_en, "description_de": desc_de,
                "description_en": desc_en, "default_subscribed": default, "position": position,
            },
        )


def append_only(apps, schema_editor):
    # Rows may still go with their notification (CASCADE), but never be rewritten.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("push", "0002_notifications")]
    operations = [
        migrations.RunPython(create_topics, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
