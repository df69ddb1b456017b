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
