-- The application's schema and a little data: a bookshop's orders.
CREATE TABLE customers (
    id      int PRIMARY KEY,
    email   text NOT NULL UNIQUE,
    country text NOT NULL
);
CREATE TABLE orders (
    id          int PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers,
    placed_at   timestamptz NOT NULL,
    total_cents int NOT NULL
);
CREATE INDEX orders_customer_placed ON orders (customer_id, placed_at DESC);

INSERT INTO customers
SELECT g, 'c' || g || '@example.com', (ARRAY['NL', 'DE', 'FR', 'GB'])[1 + g % 4]
  FROM generate_series(1, 2000) g;
INSERT INTO orders
SELECT g, 1 + (g * 7919) % 2000, timestamptz '2024-01-01' + g * interval '13 minutes',
       500 + (g * 31) % 20000
  FROM generate_series(1, 40000) g;
-- A gate's plans must not hang on chance: ANALYZE reads every row (its
-- sample is 300 rows per unit of statistics target, 60,000 here), and
-- autovacuum does not analyze again behind the suite's back.
ALTER TABLE orders ALTER customer_id SET STATISTICS 200;
ALTER TABLE customers SET (autovacuum_enabled = off);
ALTER TABLE orders SET (autovacuum_enabled = off);
VACUUM ANALYZE customers, orders;
