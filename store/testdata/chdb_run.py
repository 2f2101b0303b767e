"""Runs statements and queries in chdb (ClickHouse's engine in process) for
store/chdb_test.go.

stdin: {"statements": [sql, ...], "queries": [{"name": ..., "sql": ...}, ...]}
stdout: {"version": ..., "timezone": ..., "statements": [error or null, ...],
         "queries": [{"name": ..., "data": [[...], ...], "error": ...}, ...]}

Statements run in order in one session (schema, fixture); a failed
statement is reported and the rest still run. Query results are in
ClickHouse's JSONCompact format (64-bit integers quoted).
"""
import json
import sys

try:
    import chdb
    from chdb import session
except ImportError as e:
    sys.stderr.write("chdb is missing (pip install chdb-core): %s\n" % e)
    sys.exit(3)


def main():
    req = json.load(sys.stdin)
    s = session.Session()
    out = {"statements": [], "queries": []}
    try:
        meta = json.loads(s.query("SELECT version(), timezone()", "JSON").bytes())
        row = meta["data"][0]
        out["version"], out["timezone"] = row["version()"], row["timezone()"]
        for sql in req.get("statements", []):
            try:
                s.query(sql)
                out["statements"].append(None)
            except Exception as e:  # chdb raises a plain RuntimeError
                out["statements"].append(str(e))
        for q in req.get("queries", []):
            item = {"name": q["name"], "data": None, "error": None}
            try:
                res = s.query(q["sql"], "JSONCompact").bytes()
                item["data"] = json.loads(res)["data"] if res.strip() else []
            except Exception as e:
                item["error"] = str(e)
            out["queries"].append(item)
    finally:
        s.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
