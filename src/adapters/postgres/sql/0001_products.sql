-- Products, their version trigger, an exact row counter and the indexes the queries use.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    description text,
    price       numeric(12, 2) NOT NULL CHECK (price >= 0),
    stock       integer NOT NULL CHECK (stock >= 0),
    version     bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Versions are owned by the database: every real change bumps it by one, whoever makes it,
-- and an UPDATE cannot set it (or created_at) by hand. An UPDATE that changes nothing keeps it.
CREATE FUNCTION products_versioning() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := OLD.created_at;
    IF (NEW.name, NEW.description, NEW.price, NEW.stock)
       IS NOT DISTINCT FROM (OLD.name, OLD.description, OLD.price, OLD.stock) THEN
        NEW.version := OLD.version;
        NEW.updated_at := OLD.updated_at;
    ELSE
        NEW.version := OLD.version + 1;
        NEW.updated_at := greatest(now(), OLD.updated_at);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER products_versioning
    BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION products_versioning();

-- count(*) over a million rows costs tens of milliseconds; this row keeps the exact total for
-- unfiltered pages at O(1). Statement-level triggers with transition tables keep it right for
-- INSERT, COPY, DELETE and TRUNCATE.
CREATE TABLE product_stats (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    row_count bigint NOT NULL
);
INSERT INTO product_stats (row_count) VALUES (0);

CREATE FUNCTION product_stats_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_stats SET row_count = row_count + (SELECT count(*) FROM inserted_rows);
    RETURN NULL;
END
$$;

CREATE FUNCTION product_stats_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_stats SET row_count = row_count - (SELECT count(*) FROM deleted_rows);
    RETURN NULL;
END
$$;

CREATE FUNCTION product_stats_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_stats SET row_count = 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER product_stats_inserted AFTER INSERT ON products
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_stats_inserted();
CREATE TRIGGER product_stats_deleted AFTER DELETE ON products
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_stats_deleted();
CREATE TRIGGER product_stats_truncated AFTER TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION product_stats_truncated();

-- Price range search and keyset pages sorted by price.
CREATE INDEX products_price_id_idx ON products (price, id);
-- Case-insensitive substring search on name (ILIKE '%...%').
CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops);
-- With the default sample, ILIKE '%common word%' is estimated at 100 rows instead of tens of
-- thousands, and ORDER BY id LIMIT n then sorts every match (80 ms at 1M rows) instead of walking
-- the primary key (under 1 ms). A larger sample fixes the estimate.
ALTER TABLE products ALTER COLUMN name SET STATISTICS 1000;
-- Keyset pages sorted by name.
CREATE INDEX products_name_id_idx ON products (name, id);
