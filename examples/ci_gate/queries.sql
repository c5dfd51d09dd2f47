-- The application's queries, as the application sends them.
-- the order history page
SELECT o.id, o.placed_at, o.total_cents
  FROM orders o WHERE o.customer_id = 42 ORDER BY o.placed_at DESC LIMIT 20;
SELECT o.id, o.placed_at, o.total_cents
  FROM orders o WHERE o.customer_id = 1337 ORDER BY o.placed_at DESC LIMIT 20;
-- log in
SELECT id, country FROM customers WHERE email = 'c42@example.com';
-- the monthly report
SELECT c.country, count(*), sum(o.total_cents)
  FROM orders o JOIN customers c ON c.id = o.customer_id
 WHERE o.placed_at >= '2024-03-01' AND o.placed_at < '2024-04-01'
 GROUP BY c.country ORDER BY c.country;
