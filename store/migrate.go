package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns the embedded migrations in version order, with the
// database name substituted for {db}.
func Migrations(db string) ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", name)
		}
		body, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		m := Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), Statements: splitStatements(strings.ReplaceAll(string(body), "{db}", db))}
		for i, stmt := range m.Statements {
			if err := checkAlter(stmt); err != nil {
				return nil, fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// splitStatements splits a migration on semicolons that end a line, after
// dropping -- comment lines.
func splitStatements(sql string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			if s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); s != "" {
				stmts = append(stmts, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

// Migrate creates the database if needed and applies the migrations not yet
// recorded in schema_migrations, in order. Statements are idempotent (IF NOT
// EXISTS; an ALTER TABLE ... ADD COLUMN is skipped when the column exists),
// so two processes migrating at once end in the same schema, and a
// migration interrupted half-way runs again from its start.
// It returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	if err := s.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db+s.onCluster()); err != nil {
		return nil, fmt.Errorf("create database %s: %w", s.db, err)
	}
	create := "CREATE TABLE IF NOT EXISTS " + s.db + ".schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree() ORDER BY version"
	if s.cluster != nil && s.cluster.replicated {
		create = s.cluster.migrationsTable(s.db)
	}
	if err := s.exec(ctx, create); err != nil {
		return nil, fmt.Errorf("create %s.schema_migrations: %w", s.db, err)
	}
	applied, err := s.AppliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	var migs []Migration
	if s.cluster != nil {
		migs, err = ClusterMigrations(s.db, s.cluster.cluster, map[bool]string{true: ClusterReplicated, false: ClusterSharded}[s.cluster.replicated])
	} else {
		migs, err = Migrations(s.db)
	}
	if err != nil {
		return nil, err
	}
	var done []int
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			added, err := s.columnAdded(ctx, stmt)
			if err != nil {
				return done, fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
			}
			if added {
				continue
			}
			if err := s.exec(ctx, stmt); err != nil {
				return done, fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
			}
		}
		if err := s.recordMigration(ctx, m); err != nil {
			return done, fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// The one form of ALTER the migrations may use is a single ADD COLUMN on
// db.table (addColumnRE). ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS,
// so Migrate looks the column up in system.columns instead.
var (
	alterRE     = regexp.MustCompile(`(?i)^ALTER\s`)
	addColumnRE = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(\w+)\.(\w+)(?:\s+ON\s+CLUSTER\s+\w+)?\s+ADD\s+COLUMN\s+(\w+)\s`)
	addColumnKW = regexp.MustCompile(`(?i)\bADD\s+COLUMN\b`)
)

// checkAlter rejects the ALTER statements Migrate cannot make idempotent:
// anything but one ADD COLUMN on a table named with its database.
func checkAlter(stmt string) error {
	if !alterRE.MatchString(stmt) {
		return nil
	}
	m := addColumnRE.FindStringSubmatch(stmt)
	if m == nil || strings.EqualFold(m[3], "IF") || len(addColumnKW.FindAllStringIndex(stmt, -1)) != 1 {
		return fmt.Errorf("an ALTER must be one ADD COLUMN on {db}.table (Migrate makes no other form idempotent): %.80s", stmt)
	}
	return nil
}

// columnAdded reports whether stmt is an ALTER TABLE db.table ADD COLUMN
// whose column already exists.
func (s *Store) columnAdded(ctx context.Context, stmt string) (bool, error) {
	m := addColumnRE.FindStringSubmatch(stmt)
	if m == nil {
		return false, nil
	}
	var n uint64
	q := "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?"
	if err := s.conn.QueryRow(ctx, q, m[1], m[2], m[3]).Scan(&n); err != nil {
		return false, fmt.Errorf("look up column %s.%s.%s: %w", m[1], m[2], m[3], err)
	}
	return n > 0, nil
}

// AppliedMigrations returns the versions recorded in schema_migrations.
func (s *Store) AppliedMigrations(ctx context.Context) (map[int]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM "+s.db+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read %s.schema_migrations: %w", s.db, err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("scan schema_migrations: %w", err)
		}
		out[int(v)] = true
	}
	return out, rows.Err()
}

func (s *Store) recordMigration(ctx context.Context, m Migration) error {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	if err := b.Append(uint32(m.Version), m.Name, time.Now()); err != nil {
		_ = b.Abort()
		return err
	}
	return b.Send()
}
