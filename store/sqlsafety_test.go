package store_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

// TestSQL_OnlyStoreSpeaksSQL: no package but store imports the ClickHouse
// driver, so SQL is written in one place.
func TestSQL_OnlyStoreSpeaksSQL(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/vetrina/vetrina/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.Contains(imports, "github.com/ClickHouse/") && pkg != "github.com/vetrina/vetrina/store" {
			t.Errorf("%s imports the ClickHouse driver: only store may speak SQL", pkg)
		}
	}
}

// The grep-able rule, checked here: in store's code, a SQL string is only
// ever extended with the database name, a table's name, a column list or
// another constant; values always travel as ? parameters. Every `+` next to
// a string literal that holds SQL must splice one of these.
var (
	sqlLiteralRE = regexp.MustCompile(`"[^"]*\b(SELECT|INSERT|FROM|WHERE|CREATE|DROP|ALTER|JOIN)\b[^"]*"`)
	spliceRE     = regexp.MustCompile(`\+\s*([A-Za-z_][\w.]*(?:\(\))?)|([A-Za-z_][\w.]*(?:\(\))?)\s*\+`)
	allowed      = map[string]bool{
		"s.db": true, "db": true, "t.Name()": true, "table.Name()": true, "table.Name": true, "t.Name": true,
		"uniq": true, "s.onCluster()": true, "LocalSuffix": true, "activeUsersSQL": true, "name": true,
		"strings.Join(cols, \", \")": true, "strings.Join": true, "l.cluster": true,
		// everyReplica's FROM: the database, a table name and ? parameters.
		"from": true,
	}
)

func TestSQL_SplicesOnlyIdentifiers(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") || !sqlLiteralRE.MatchString(line) {
				continue
			}
			if strings.Contains(line, "Sprintf") && !strings.HasPrefix(f, "cluster") {
				t.Errorf("%s:%d: SQL built with Sprintf: %s", f, n+1, strings.TrimSpace(line))
			}
			// Drop the literals, then look at what is spliced.
			code := regexp.MustCompile(`"(\\.|[^"\\])*"|`+"`[^`]*`").ReplaceAllString(line, `""`)
			for _, m := range spliceRE.FindAllStringSubmatch(code, -1) {
				id := m[1] + m[2]
				if id == "" || allowed[id] || strings.HasPrefix(id, "strings.Join") {
					continue
				}
				t.Errorf("%s:%d: SQL spliced with %q (values must be ? parameters): %s", f, n+1, id, strings.TrimSpace(line))
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d SQL lines checked: the rule lost track of the code", checked)
	}
}

// TestSQL_HostileStringsLandVerbatim: quotes, comments, backslashes, NUL
// and SQL in every free-text field land as data, and the tables stay.
func TestSQL_HostileStringsLandVerbatim(t *testing.T) {
	st, cfg := testenv.Store(t)
	ctx := context.Background()
	hostile := []string{
		`'); DROP TABLE views; --`,
		`\'; SELECT * FROM system.users; --`,
		"back\\slash \x00 nul and \"quotes\"",
		`{db}.views`,
		"?", "' OR 1=1 --", "🛒 ünïcödé ' \" ` ;",
	}
	now := time.Now().UTC().Truncate(time.Second)
	var chats store.ChatRows
	var products store.ProductRows
	for k, h := range hostile {
		chats.Add(&event.Chat{EventID: fmt.Sprintf("c%d%s", k, h), TS: now, UserID: 1, LiveID: 2, InfluencerID: 3, Text: h}, 0, int64(k+1))
		products.Add(&event.Product{ProductID: uint64(k + 1), BrandID: 1, Category: h, Title: h, Price: 1, Currency: "EUR", InStock: true, UpdatedAt: now}, 0, int64(k+1))
	}
	for _, r := range []store.Rows{&chats, &products} {
		r.SetIngestedAt(now)
		if err := st.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := st.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(hostile) {
		t.Fatalf("%d products, want %d", len(ps), len(hostile))
	}
	for _, p := range ps {
		if h := hostile[p.ProductID-1]; p.Title != h || p.Category != h {
			t.Errorf("product %d: title %q, category %q; want %q", p.ProductID, p.Title, p.Category, h)
		}
	}
	// Hostile values as query parameters find exactly their row.
	for k, h := range hostile {
		n, err := st.CountEvent(ctx, store.TableChats, fmt.Sprintf("c%d%s", k, h))
		if err != nil || n != 1 {
			t.Errorf("chat %q: %d rows, %v", h, n, err)
		}
	}
	if n, _, err := st.Count(ctx, store.TableViews); err != nil || n != 0 {
		t.Errorf("views after hostile input: %d, %v", n, err)
	}
	// A hostile database name never reaches SQL.
	for _, db := range []string{"x; DROP DATABASE " + cfg.Database, "a.b", "`x`", ""} {
		if db == "" {
			continue
		}
		if _, err := store.Open(store.Config{Addr: cfg.Addr, Database: db}); err == nil {
			t.Errorf("database name %q accepted", db)
		}
	}
}
