"""A database rule that keeps the audit log append-only (topics are ensured by push.topics)."""

from django.db import migrations

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION push_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'push_auditentry is append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS push_audit_append_only ON push_auditentry;
CREATE TRIGGER push_audit_append_only
    BEFORE UPDATE ON push_auditentry
    FOR EACH ROW EXECUTE FUNCTION push_audit_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS push_audit_append_only ON push_auditentry;
DROP FUNCTION IF EXISTS push_audit_append_only();
"""


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
        migrations.RunPython(append_only, drop_append_only),
    ]
