-- A product's id is permanent. An UPDATE that moved a row to another id (PostgreSQL allows
-- `SET id = DEFAULT` on an identity column) would leave caches serving the old id: the change
-- outbox matches old and new rows by id, and an id is what every client holds on to. Refuse it;
-- insert a new product and delete the old one instead.
CREATE OR REPLACE FUNCTION products_versioning() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'product ids are permanent: cannot change id % to %', OLD.id, NEW.id
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'insert a new product and delete the old one instead';
    END IF;
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
