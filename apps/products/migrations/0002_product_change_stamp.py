from typing import Any

from django.db import migrations, models

from apps.products.stamp import stamp_triggers_install, stamp_triggers_remove


def install(apps: Any, schema_editor: Any) -> None:
    stamp_triggers_install(schema_editor.connection)


def remove(apps: Any, schema_editor: Any) -> None:
    stamp_triggers_remove(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("products", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="change_stamp",
            field=models.BigIntegerField(db_default=0, editable=False),
        ),
        migrations.RunPython(install, remove),
    ]
