-- The register's cold queries on PostgreSQL, as docs/benchmarks.md records them:
--   psql postgres://postgres@127.0.0.1:5432/metrocal_bench -f bench/register_explain.sql
-- after `BENCH_DATABASE_URL=… bash bench/register.sh 46000` has imported the province.
EXPLAIN (ANALYZE, SUMMARY ON) SELECT COUNT(*) FROM standards;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT n FROM register_totals WHERE name = 'standards';
EXPLAIN (ANALYZE, SUMMARY ON) SELECT COUNT(*) FROM standards WHERE search_text LIKE '%压 力 表 %';
EXPLAIN (ANALYZE, SUMMARY ON) SELECT COUNT(*) FROM standards WHERE search_plain LIKE '%压力表%';
EXPLAIN (ANALYZE, SUMMARY ON) SELECT COUNT(*) FROM standards WHERE search_text LIKE '%检 定 装 %';
EXPLAIN (ANALYZE, SUMMARY ON) SELECT COUNT(*) FROM standards WHERE search_plain LIKE '%检定装%';
EXPLAIN (ANALYZE, SUMMARY ON) SELECT * FROM standards WHERE search_plain LIKE '%压力表%' ORDER BY name_zh, id LIMIT 50;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT * FROM standards WHERE search_plain LIKE '%压力表%' ORDER BY COALESCE(name_zh, name_zh), id LIMIT 50;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT id FROM standards ORDER BY name_zh, id LIMIT 50 OFFSET 19950;
-- Where sorting the matches beats walking the name index (the list sorts up to 4,000):
EXPLAIN (ANALYZE, SUMMARY ON) SELECT * FROM standards WHERE search_plain LIKE '%千分尺%' ORDER BY name_zh, id LIMIT 50;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT * FROM standards WHERE search_plain LIKE '%千分尺%' ORDER BY COALESCE(name_zh, name_zh), id LIMIT 50;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT * FROM standards WHERE search_plain LIKE '%温度计%' ORDER BY name_zh, id LIMIT 50;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT * FROM standards WHERE search_plain LIKE '%温度计%' ORDER BY COALESCE(name_zh, name_zh), id LIMIT 50;
-- The dashboard (migration 016): coverage by city and by discipline, counted and kept.
EXPLAIN (ANALYZE, SUMMARY ON) SELECT region_id, COUNT(*) FROM standards GROUP BY region_id;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT NULLIF(region_key, 0), SUM(n) FROM register_counts GROUP BY region_key HAVING SUM(n) > 0;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT category_code, COUNT(*) FROM standards GROUP BY category_code;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT category_code, SUM(n) FROM register_counts GROUP BY category_code HAVING SUM(n) > 0;
-- Expiring within six months and expired: counted and kept.
EXPLAIN (ANALYZE, SUMMARY ON) SELECT COUNT(*) FROM standards WHERE cert_expires_on BETWEEN '2026-12-08' AND '2027-06-08' AND status IN ('in_service', 'suspended');
EXPLAIN (ANALYZE, SUMMARY ON) SELECT SUM(n) FROM register_expiry_counts WHERE cert_expires_on BETWEEN '2026-12-08' AND '2027-06-08' AND status IN ('in_service', 'suspended');
EXPLAIN (ANALYZE, SUMMARY ON) SELECT COUNT(*) FROM standards WHERE status = 'expired' OR (status = 'in_service' AND cert_expires_on < '2026-12-08');
EXPLAIN (ANALYZE, SUMMARY ON) SELECT SUM(n) FROM register_expiry_counts WHERE status = 'expired' OR (status = 'in_service' AND cert_expires_on < '2026-12-08');
-- The most recently expired first: without and with the bound on the date.
EXPLAIN (ANALYZE, SUMMARY ON) SELECT * FROM standards WHERE status = 'expired' OR (status = 'in_service' AND cert_expires_on < '2026-12-08') ORDER BY cert_expires_on DESC, id DESC LIMIT 10;
EXPLAIN (ANALYZE, SUMMARY ON) SELECT * FROM standards WHERE (status = 'expired' OR (status = 'in_service' AND cert_expires_on < '2026-12-08')) AND cert_expires_on <= GREATEST('2026-12-07'::date, (SELECT MAX(s.cert_expires_on) FROM standards s WHERE s.status = 'expired')) ORDER BY cert_expires_on DESC, id DESC LIMIT 10;
-- City + status, counted and kept.
EXPLAIN (ANALYZE, SUMMARY ON) SELECT COUNT(*) FROM standards WHERE region_id = 5 AND status = 'suspended';
EXPLAIN (ANALYZE, SUMMARY ON) SELECT SUM(n) FROM register_counts WHERE region_key = 5 AND status = 'suspended';
