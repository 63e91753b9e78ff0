-- The change outbox the cache relay reads: every committed change to products, whoever made it.

-- One row per changed product for UPDATE and DELETE (version: the version the change made;
-- a delete counts as one more version), and one row per statement for INSERT, COPY and
-- TRUNCATE (product_id NULL): a load of a million products writes one row, not a million.
-- Rows are deleted once relayed: sequence values are not committed in order, so the relay
-- reads what is there rather than "everything after the last seq", and nothing is skipped.
CREATE TABLE product_changes (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    op         char(1) NOT NULL CHECK (op IN ('U', 'D', 'I', 'T')),
    product_id bigint,
    version    bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((op IN ('U', 'D')) = (product_id IS NOT NULL))
);

-- What the active relay has done: its last relayed sequence and when (for lag and readiness).
CREATE TABLE cache_relay_state (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq   bigint NOT NULL DEFAULT 0,
    relayed_at timestamptz
);
INSERT INTO cache_relay_state DEFAULT VALUES;

-- Statement-level triggers with transition tables: set-based, one NOTIFY per statement.
-- NOTIFY is only a wake-up (delivered at commit, merged within a transaction); the table is
-- the record.
CREATE FUNCTION product_changes_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO product_changes (op, product_id, version)
    SELECT 'U', n.id, n.version
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.version <> o.version
    ORDER BY n.id;
    IF FOUND THEN
        PERFORM pg_notify('product_changes', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION product_changes_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO product_changes (op, product_id, version)
    SELECT 'D', o.id, o.version + 1 FROM old_rows o ORDER BY o.id;
    IF FOUND THEN
        PERFORM pg_notify('product_changes', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION product_changes_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted_rows) THEN
        INSERT INTO product_changes (op) VALUES ('I');
        PERFORM pg_notify('product_changes', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION product_changes_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO product_changes (op) VALUES ('T');
    PERFORM pg_notify('product_changes', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER product_changes_updated AFTER UPDATE ON products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_changes_updated();
CREATE TRIGGER product_changes_deleted AFTER DELETE ON products
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_changes_deleted();
CREATE TRIGGER product_changes_inserted AFTER INSERT ON products
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_changes_inserted();
CREATE TRIGGER product_changes_truncated AFTER TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION product_changes_truncated();
