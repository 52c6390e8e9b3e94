/* SQLite workload for scripts/bench-cc: in-memory database, inserts,
 * index build, joins, aggregates, sorting, string functions. Output goes
 * through the harness so native and sandboxed runs can be compared. */
#include "harness/harness.h"
#include "sqlite3.h"

static char heap[96 << 20] __attribute__((aligned(64)));
static long rows_seen;

static int print_row(void *arg, int n, char **v, char **names)
{
	(void)arg; (void)names;
	rows_seen++;
	for (int i = 0; i < n; i++) { if (i) h_str("|"); h_str(v[i] ? v[i] : "NULL"); }
	h_nl();
	return 0;
}

static void exec(sqlite3 *db, const char *sql, int show)
{
	char *err = 0;
	if (sqlite3_exec(db, sql, show ? print_row : 0, 0, &err) != SQLITE_OK) {
		h_str("error: "); h_str(err ? err : "?"); h_nl();
		sqlite3_free(err);
	}
}

void halite_main(void)
{
	sqlite3_config(SQLITE_CONFIG_HEAP, heap, (int)sizeof heap, 64);
	sqlite3 *db;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK) { h_str("open failed\n"); return; }
	exec(db, "PRAGMA cache_size=-20000", 0);
	exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL)", 0);
	exec(db, "CREATE TABLE u(k INTEGER, name TEXT)", 0);
	exec(db, "BEGIN", 0);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "INSERT INTO t(a,b,c) VALUES(?1, ?2, ?3)", -1, &st, 0);
	unsigned long x = 12345;
	char buf[32];
	for (int i = 0; i < 200000; i++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		int len = 5 + (int)((x >> 40) % 20);
		for (int j = 0; j < len; j++) buf[j] = 'a' + (int)((x >> (j % 50)) % 26);
		sqlite3_bind_int64(st, 1, (long)((x >> 20) % 100000));
		sqlite3_bind_text(st, 2, buf, len, SQLITE_TRANSIENT);
		sqlite3_bind_double(st, 3, (double)(x >> 11) / 9007199254740992.0 * 1000.0);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	for (int i = 0; i < 1000; i++) {
		char q[96];
		int n = 0;
		const char *p = "INSERT INTO u VALUES(";
		while (*p) q[n++] = *p++;
		int v = i * 97 % 100000, d = 10000000;
		while (d > 1 && v < d) d /= 10;
		for (; d; d /= 10) q[n++] = '0' + (v / d) % 10;
		p = ", 'name' || 'x')";
		while (*p) q[n++] = *p++;
		q[n] = 0;
		exec(db, q, 0);
	}
	exec(db, "COMMIT", 0);
	exec(db, "CREATE INDEX ta ON t(a)", 0);
	exec(db, "CREATE INDEX tb ON t(b)", 0);
	exec(db, "SELECT count(*), sum(a), round(avg(c), 6), min(b), max(b) FROM t", 1);
	exec(db, "SELECT a % 10 AS g, count(*), round(sum(c), 3) FROM t GROUP BY g ORDER BY g", 1);
	exec(db, "SELECT count(*) FROM t JOIN u ON t.a = u.k", 1);
	exec(db, "SELECT b, a FROM t WHERE b LIKE 'ab%' ORDER BY b, a LIMIT 5", 1);
	exec(db, "SELECT count(DISTINCT substr(b, 1, 3)) FROM t", 1);
	exec(db, "SELECT id, a, b FROM t ORDER BY c DESC LIMIT 3", 1);
	exec(db, "UPDATE t SET c = c * 2 WHERE a < 50000", 0);
	exec(db, "DELETE FROM t WHERE a % 3 = 0", 0);
	exec(db, "SELECT count(*), round(sum(c), 3) FROM t", 1);
	exec(db, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100000) SELECT sum(n), count(*) FROM r", 1);
	for (int i = 0; i < 200; i++) exec(db, "SELECT count(*) FROM t WHERE a BETWEEN 1000 AND 1100", 0);
	sqlite3_close(db);
	h_str("rows "); h_i64(rows_seen); h_nl();
}
