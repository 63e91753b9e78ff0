\set id random(1, :rows)
SELECT id, name, description, price, stock, version, created_at, updated_at FROM products WHERE id = :id;
