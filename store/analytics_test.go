package store_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

// example is one SQL block of docs/analytics.md with the bold title that
// introduces it.
type example struct {
	title, sql string
}

var (
	titleRE = regexp.MustCompile(`^\*\*(.+?)\*\*`)
	// A table qualified with the database, outside a string literal (the
	// topic 'vetrina.views' is a value, not a table).
	tableRE = regexp.MustCompile(`(^|[^'\w])vetrina\.`)
)

func analyticsExamples(t *testing.T) []example {
	t.Helper()
	doc, err := os.ReadFile("../docs/analytics.md")
	if err != nil {
		t.Fatal(err)
	}
	_, queries, ok := strings.Cut(string(doc), "\n## Example queries")
	if !ok {
		t.Fatal("docs/analytics.md has no Example queries section")
	}
	queries, _, _ = strings.Cut(queries, "\n## ")
	var out []example
	title := ""
	lines := strings.Split(queries, "\n")
	for i := 0; i < len(lines); i++ {
		if m := titleRE.FindStringSubmatch(lines[i]); m != nil {
			title = m[1]
		}
		if lines[i] != "```sql" {
			continue
		}
		var b strings.Builder
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			b.WriteString(lines[i])
			b.WriteByte('\n')
		}
		out = append(out, example{title, b.String()})
	}
	return out
}

// TestAnalyticsExamples runs every example query of docs/analytics.md as
// the read-only analyst, on a few simulated hours that end now, and checks
// that the analyst can read but not write.
func TestAnalyticsExamples(t *testing.T) {
	st, cfg := testenv.Store(t)
	ctx := context.Background()
	loadRecent(ctx, t, st, 6*time.Hour)

	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{cfg.Addr},
		Auth: clickhouse.Auth{Database: cfg.Database, Username: "analyst"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	examples := analyticsExamples(t)
	if len(examples) < 12 {
		t.Fatalf("found %d example queries in docs/analytics.md, want at least 12", len(examples))
	}
	// The queries the issue names must find rows in six simulated hours;
	// the others (a given live's chat, dead letters) may be empty.
	mustHaveRows := []string{"GMV by brand and hour", "Live funnel", "Conversion by category", "Top 3 influencers per category", "Top influencers by GMV", "Freshness"}
	seen := map[string]bool{}
	for _, ex := range examples {
		q := tableRE.ReplaceAllString(ex.sql, "${1}"+cfg.Database+".")
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Errorf("%s: %v\n%s", ex.title, err, q)
			continue
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%s: reading rows: %v", ex.title, err)
		}
		rows.Close()
		for _, want := range mustHaveRows {
			if strings.HasPrefix(ex.title, want) {
				seen[want] = true
				if n == 0 {
					t.Errorf("%s: no rows on six hours of simulated data", ex.title)
				}
			}
		}
		t.Logf("%-60s %d rows", ex.title, n)
	}
	for _, want := range mustHaveRows {
		if !seen[want] {
			t.Errorf("docs/analytics.md has no example titled %q", want)
		}
	}

	// Read-only: no writes, no DDL, no raising its own limits.
	for _, q := range []string{
		"INSERT INTO " + cfg.Database + ".schema_migrations (version, name) VALUES (999, 'x')",
		"CREATE TABLE " + cfg.Database + ".evil (x UInt8) ENGINE = Memory",
		"DROP TABLE " + cfg.Database + ".views",
		"SET max_execution_time = 0",
	} {
		if err := conn.Exec(ctx, q); err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
			t.Errorf("analyst ran %q: err = %v, want a readonly refusal", q, err)
		}
	}
}

// loadRecent lands simulated events covering the last span (up to a
// minute ago), decoded as the ingester decodes them, and one dead letter.
func loadRecent(ctx context.Context, t *testing.T, st *store.Store, span time.Duration) {
	t.Helper()
	wc := sim.DefaultConfig()
	wc.Users, wc.Brands, wc.ProductsPerBrand, wc.Influencers = 3000, 30, 10, 60
	w, err := sim.NewWorld(wc)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-span).Truncate(time.Second)
	g := sim.NewGenerator(w, 3, start)
	l := ingest.NewLoader(ctx, st, 100_000)
	for _, m := range w.CatalogMessages(start) {
		if err := l.Add(m.Kind, m.Value); err != nil {
			t.Fatal(err)
		}
	}
	limit := time.Now().Add(-time.Minute)
	for n := 0; n < 200_000; n++ {
		m := g.Next()
		if m.Time.After(limit) {
			break
		}
		if err := l.Add(m.Kind, m.Value); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var dl store.DeadLetterRows
	dl.Add("vetrina.views", 0, 1, []byte(`{"event_id":"x","ts":"yesterday"}`), "bad_timestamp", "ts: not a time")
	dl.IngestedAt = time.Now()
	if err := st.Insert(ctx, &dl); err != nil {
		t.Fatal(err)
	}
}
