"""The change stamp: the database bumps `Product.change_stamp` whenever the product, one of its
releases or one of its notices is written, by any path (admin, staff API, services, a shell,
a bulk update). Ingest caches what it answers per process and checks the stamp inside its write
transaction (apps/ingest/product_cache.py), so a staff change takes effect on the next ping in every
server process.

Triggers rather than bumps in Python: no save path can forget one. The two databases spell
triggers differently, so each has its own statements here; both are idempotent, and on SQLite
`stamp_triggers_install` runs after every `migrate` too, because SQLite drops a table's
triggers when a migration rebuilds the table.
"""

from typing import Any

_POSTGRES = [
    """CREATE OR REPLACE FUNCTION products_product_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN NEW.change_stamp := OLD.change_stamp + 1; RETURN NEW; END $$""",
    "DROP TRIGGER IF EXISTS products_product_stamp ON products_product",
    """CREATE TRIGGER products_product_stamp BEFORE UPDATE ON products_product FOR EACH ROW
       WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION products_product_stamp()""",
    """CREATE OR REPLACE FUNCTION products_child_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP <> 'INSERT' THEN
               UPDATE products_product SET change_stamp = change_stamp + 1 WHERE id = OLD.product_id;
           END IF;
           IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.product_id <> OLD.product_id) THEN
               UPDATE products_product SET change_stamp = change_stamp + 1 WHERE id = NEW.product_id;
           END IF;
           RETURN NULL;
       END $$""",
    *(statement.format(table=table)
      for table in ("products_release", "products_notice")
      for statement in ("DROP TRIGGER IF EXISTS {table}_stamp ON {table}",
                        "CREATE TRIGGER {table}_stamp AFTER INSERT OR UPDATE OR DELETE ON {table} "
                        "FOR EACH ROW EXECUTE FUNCTION products_child_stamp()")),
]

# SQLite: `NEW.change_stamp <= OLD.change_stamp` also catches a save that wrote back a stale stamp
# (a form loaded before a release changed), which must still move the stamp forward.
_SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS products_product_stamp AFTER UPDATE ON products_product FOR EACH ROW
       WHEN NEW.change_stamp <= OLD.change_stamp
       BEGIN UPDATE products_product SET change_stamp = OLD.change_stamp + 1 WHERE id = NEW.id; END""",
    *(statement.format(table=table)
      for table in ("products_release", "products_notice")
      for statement in (
          "CREATE TRIGGER IF NOT EXISTS {table}_stamp_insert AFTER INSERT ON {table} FOR EACH ROW "
          "BEGIN UPDATE products_product SET change_stamp = change_stamp + 1 WHERE id = NEW.product_id; END",
          "CREATE TRIGGER IF NOT EXISTS {table}_stamp_update AFTER UPDATE ON {table} FOR EACH ROW "
          "BEGIN UPDATE products_product SET change_stamp = change_stamp + 1 "
          "WHERE id IN (OLD.product_id, NEW.product_id); END",
          "CREATE TRIGGER IF NOT EXISTS {table}_stamp_delete AFTER DELETE ON {table} FOR EACH ROW "
          "BEGIN UPDATE products_product SET change_stamp = change_stamp + 1 WHERE id = OLD.product_id; END",
      )),
]


_REMOVE = {
    "postgresql": ["DROP TRIGGER IF EXISTS products_product_stamp ON products_product",
                   "DROP TRIGGER IF EXISTS products_release_stamp ON products_release",
                   "DROP TRIGGER IF EXISTS products_notice_stamp ON products_notice",
                   "DROP FUNCTION IF EXISTS products_product_stamp()",
                   "DROP FUNCTION IF EXISTS products_child_stamp()"],
    "sqlite": ["DROP TRIGGER IF EXISTS products_product_stamp",
               *(f"DROP TRIGGER IF EXISTS {table}_stamp_{event}" for table in ("products_release", "products_notice")
                 for event in ("insert", "update", "delete"))],
}


def stamp_triggers_remove(connection: Any) -> None:
    """Drop the triggers (migrating back past the stamp)."""
    with connection.cursor() as cursor:
        for statement in _REMOVE.get(connection.vendor, []):
            cursor.execute(statement)


def stamp_triggers_install(connection: Any) -> None:
    """Create (or re-create) the triggers that bump the stamp, on this connection's database."""
    statements = {"postgresql": _POSTGRES, "sqlite": _SQLITE}.get(connection.vendor)
    if statements is None:
        raise NotImplementedError(f"no change-stamp triggers for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
