"""The audit log refuses DELETE as well as UPDATE in the database (0003 refused UPDATE only).

A city must be able to show who sent what to its citizens, also years later: no entry may go, not by a
raw SQL statement, not with its notification. So the notification's foreign key no longer cascades
(``PROTECT``: Django refuses to delete a notification with entries, and the admin offers no delete), and a
trigger refuses every DELETE of a row. TRUNCATE (a test database being emptied) is a statement of its own
and not affected.
"""

import django.db.models.deletion
from django.db import migrations, models

NO_DELETE_SQL = """
DROP TRIGGER IF EXISTS push_audit_no_delete ON push_auditentry;
CREATE TRIGGER push_audit_no_delete
    BEFORE DELETE ON push_auditentry
    FOR EACH ROW EXECUTE FUNCTION push_audit_append_only();
"""
DROP_SQL = "DROP TRIGGER IF EXISTS push_audit_no_delete ON push_auditentry;"


def no_delete(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_DELETE_SQL)


def allow_delete(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("push", "0007_workflow_mails_emergency_reason")]
    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="notification",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="audit_entries",
                to="push.notification",
            ),
        ),
        migrations.RunPython(no_delete, allow_delete),
    ]
