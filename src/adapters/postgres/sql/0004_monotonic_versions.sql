-- Versions only grow for an id, also across its rebirths. An id can be used again after
-- TRUNCATE ... RESTART IDENTITY, or when a deleted id is inserted again (OVERRIDING SYSTEM VALUE);
-- the caches hold tombstones of its earlier life at that life's last version + 1, and its ETags
-- would repeat. So every id that may have lived before starts above every version retired so far:
-- deletes and truncates raise a floor, and rows inserted with an id at or below the highest id
-- retired so far start at that floor. Ids never used before (all the identity hands out
-- unless it was restarted) start at 1 as always.
CREATE TABLE product_rebirths (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    max_id        bigint NOT NULL DEFAULT 0,
    floor_version bigint NOT NULL DEFAULT 1
);
INSERT INTO product_rebirths DEFAULT VALUES;

CREATE FUNCTION products_retired() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_rebirths r
    SET max_id = greatest(r.max_id, o.max_id), floor_version = greatest(r.floor_version, o.max_version + 1)
    FROM (SELECT max(id) AS max_id, max(version) AS max_version FROM old_rows) AS o
    WHERE o.max_id IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE FUNCTION products_truncating() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_rebirths r
    SET max_id = greatest(r.max_id, o.max_id), floor_version = greatest(r.floor_version, o.max_version + 1)
    FROM (SELECT max(id) AS max_id, max(version) AS max_version FROM products) AS o
    WHERE o.max_id IS NOT NULL;
    RETURN NULL;
END
$$;

-- Each INSERT (or COPY) statement reads the floor once into transaction-local settings; the row
-- trigger's WHEN clause compares ids in C, so rows with new ids cost no trigger call at all.
CREATE FUNCTION products_rebirth_floor() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    retired product_rebirths%ROWTYPE;
BEGIN
    SELECT * INTO retired FROM product_rebirths;
    PERFORM set_config('productcore.rebirth_max_id', retired.max_id::text, true);
    PERFORM set_config('productcore.rebirth_floor', retired.floor_version::text, true);
    RETURN NULL;
END
$$;

CREATE FUNCTION products_reborn() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := greatest(NEW.version, current_setting('productcore.rebirth_floor')::bigint);
    RETURN NEW;
END
$$;

CREATE TRIGGER products_retired AFTER DELETE ON products
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_retired();
CREATE TRIGGER products_truncating BEFORE TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION products_truncating();
CREATE TRIGGER products_rebirth_floor BEFORE INSERT ON products
    FOR EACH STATEMENT EXECUTE FUNCTION products_rebirth_floor();
CREATE TRIGGER products_reborn BEFORE INSERT ON products
    FOR EACH ROW
    WHEN (NEW.id <= coalesce(nullif(current_setting('productcore.rebirth_max_id', true), ''), '0')::bigint)
    EXECUTE FUNCTION products_reborn();
