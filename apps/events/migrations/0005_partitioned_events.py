"""The dedupe moves to its own table, and on PostgreSQL the events table becomes partitioned by day.

A table of up to SMALL_TABLE rows is converted here, in the migration's transaction; a bigger one
stays as it is (its unique constraint keeps deciding, the code works on both) until
`manage.py events_partition` converts it in bounded batches with ingest running.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

SMALL_TABLE = 100_000


def received_at_index(apps, schema_editor):
    # Pruning reads the ids by age; rows arrive in that order, so PostgreSQL's BRIN index (a few
    # pages, nearly free to maintain on every insert) finds them; SQLite has only B-trees.
    kind = "USING brin " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX event_message_ids_received_at ON event_message_ids {kind}(received_at)")


def partition_or_drop_unique(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        schema_editor.execute("INSERT INTO event_message_ids (product_id, message_id, received_at) "
                              "SELECT product_id, message_id, received_at FROM events_event WHERE true "
                              "ON CONFLICT (product_id, message_id) DO NOTHING")
        return
    from apps.events.partitions import events_partition_in_place

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM events_event LIMIT {SMALL_TABLE + 1}) AS s")
        rows = cursor.fetchone()[0]
    if rows > SMALL_TABLE:
        print(f"\n  events_event holds more than {SMALL_TABLE:,} rows: it stays unpartitioned (and correct) "
              "until `manage.py events_partition` converts it with ingest running.")
        return
    events_partition_in_place(now=timezone.now())


class RemoveConstraintOutsidePostgres(migrations.RemoveConstraint):
    """PostgreSQL's partitioned table is made without it; a big plain table keeps it until converted."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0004_event_kind_opt_out'),
        ('products', '0003_merge_20261130_1620'),
    ]

    operations = [
        migrations.CreateModel(
            name='EventMessageId',
            fields=[
                ('pk', models.CompositePrimaryKey('product', 'message_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('product', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='products.product')),
                ('message_id', models.CharField(max_length=200)),
                ('received_at', models.DateTimeField()),
            ],
            options={
                'db_table': 'event_message_ids',
            },
        ),
        migrations.RunPython(received_at_index, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='event',
                    name='event_unique_message_id',
                ),
            ],
            database_operations=[
                migrations.RunPython(partition_or_drop_unique),
                RemoveConstraintOutsidePostgres(model_name='event', name='event_unique_message_id'),
            ],
        ),
    ]
