package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

// chdbInstall is what to run when python3 or chdb is missing.
const chdbInstall = "scripts/install-deps.sh --test, or: python3 -m pip install chdb-core"

// chdbAnchor is the fixed "now" of the comparison: the fixture's times are
// relative to it, and now() in the analytics examples is replaced by it, so
// that both engines answer the same question whenever the test runs.
var chdbAnchor = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

// TestCurrentClickHouseMatches1816 runs the schema, a small fixture, every
// query the store issues and every example of docs/analytics.md on the
// managed ClickHouse 18.16 and on a current ClickHouse (chdb, its engine in
// process, driven by store/testdata/chdb_run.py), and checks that each runs
// on both and gives the same rows.
func TestCurrentClickHouseMatches1816(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The comparison itself can fail.
	if diffRows([][]string{{"1", "a"}}, [][]string{{"1.0000000001", "a"}}) != "" ||
		diffRows([][]string{{"1", "a"}}, [][]string{{"1.001", "a"}}) == "" ||
		diffRows([][]string{{"x"}}, [][]string{{"x"}, {"x"}}) == "" {
		t.Fatal("diffRows does not tell equal from different results")
	}
	if out, err := exec.CommandContext(ctx, "python3", "-c", "import chdb").CombinedOutput(); err != nil {
		t.Fatalf("this test needs python3 with chdb (%s): %v\n%s", chdbInstall, err, out)
	}

	st, cfg := testenv.Store(t)
	db := cfg.Database
	loadChdbFixture(ctx, t, st)
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{cfg.Addr}, Auth: clickhouse.Auth{Database: "default", Username: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// The schema on chdb: the database, schema_migrations as Migrate creates
	// it, and every statement of every single-node migration.
	var stmts []string
	var stmtNames []string
	stmts = append(stmts,
		"CREATE DATABASE IF NOT EXISTS "+db,
		"CREATE TABLE IF NOT EXISTS "+db+".schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree() ORDER BY version")
	stmtNames = append(stmtNames, "create database", "create schema_migrations")
	migs, err := store.Migrations(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) < 3 {
		t.Fatalf("found %d migrations, want at least 3", len(migs))
	}
	for _, m := range migs {
		for i, s := range m.Statements {
			stmts = append(stmts, s)
			stmtNames = append(stmtNames, fmt.Sprintf("migration %s statement %d", m.Name, i+1))
		}
	}
	// The fixture on chdb: the rows 18.16 holds, read back and inserted with
	// the store's column lists (schema_migrations with Migrate's).
	tables := map[string][]string{"schema_migrations": {"version", "name", "applied_at"}}
	for tb := store.TableViews; tb <= store.TableDeadLetters; tb++ {
		tables[tb.Name()] = store.InsertColumns(tb)
	}
	var fixtureRows int
	for name, cols := range tables {
		ins, n, err := renderInsert(ctx, conn, db, name, cols)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("fixture has no rows in %s", name)
		}
		fixtureRows += n
		stmts = append(stmts, ins)
		stmtNames = append(stmtNames, "insert into "+name)
	}

	// Every query: the store's reads with the arguments they bind, and the
	// analytics examples with now() pinned to the anchor.
	var queries []chdbQuery
	anchorSQL := fmt.Sprintf("toDateTime(%d)", chdbAnchor.Unix())
	for _, q := range st.IssuedQueries(chdbAnchor.Add(-24*time.Hour), chdbAnchor.Add(-30*time.Minute), 0, 3, "vetrina.views") {
		sql, err := renderArgs(q.SQL, q.Args)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		// The rendering must mean what the driver's binding means.
		if len(q.Args) > 0 {
			bound, err := query1816(ctx, conn, q.SQL, q.Args...)
			if err != nil {
				t.Fatalf("%s on 18.16 with bound arguments: %v", q.Name, err)
			}
			rendered, err := query1816(ctx, conn, sql)
			if err != nil {
				t.Fatalf("%s on 18.16 rendered: %v\n%s", q.Name, err, sql)
			}
			if d := diffRows(bound, rendered); d != "" {
				t.Fatalf("%s: rendered arguments differ from bound ones on 18.16: %s", q.Name, d)
			}
		}
		queries = append(queries, chdbQuery{Name: "store " + q.Name, SQL: sql})
	}
	examples := analyticsExamples(t)
	if len(examples) < 12 {
		t.Fatalf("found %d example queries in docs/analytics.md, want at least 12", len(examples))
	}
	// The doc's other SQL blocks (the exactly-once checks) too.
	doc, err := os.ReadFile("../docs/analytics.md")
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := strings.Cut(string(doc), "\n## Example queries")
	for i, block := range strings.Split(before, "\n```sql\n")[1:] {
		sql, _, ok := strings.Cut(block, "\n```")
		if !ok {
			t.Fatalf("docs/analytics.md: unterminated sql block %d", i+1)
		}
		examples = append(examples, example{title: fmt.Sprintf("block %d before Example queries", i+1), sql: sql})
	}
	if len(examples) != strings.Count(string(doc), "\n```sql\n") {
		t.Fatalf("compared %d SQL blocks, docs/analytics.md has %d", len(examples), strings.Count(string(doc), "\n```sql\n"))
	}
	for i, ex := range examples {
		sql := tableRE.ReplaceAllString(ex.sql, "${1}"+db+".")
		sql = strings.ReplaceAll(sql, "now()", anchorSQL)
		queries = append(queries, chdbQuery{Name: fmt.Sprintf("analytics %d %s", i+1, ex.title), SQL: sql})
	}

	res, err := runChdb(ctx, stmts, queries)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chdb: ClickHouse %s, time zone %s; %d statements, %d fixture rows, %d queries", res.Version, res.Timezone, len(stmts), fixtureRows, len(queries))
	if major, _, _ := strings.Cut(res.Version, "."); major < "2" || len(major) < 2 {
		t.Errorf("chdb reports ClickHouse %q, want a current release (2x.y)", res.Version)
	}
	if res.Timezone != "UTC" {
		t.Fatalf("chdb runs in time zone %q, want UTC (the fixture's DateTime strings are UTC)", res.Timezone)
	}
	if len(res.Statements) != len(stmts) || len(res.Queries) != len(queries) {
		t.Fatalf("chdb answered %d statements and %d queries, want %d and %d", len(res.Statements), len(res.Queries), len(stmts), len(queries))
	}
	for i, e := range res.Statements {
		if e != nil {
			t.Errorf("chdb: %s failed: %s\n%s", stmtNames[i], *e, abbreviate(stmts[i]))
		}
	}
	nonEmpty := 0
	for i, q := range queries {
		want, err := query1816(ctx, conn, q.SQL)
		if err != nil {
			t.Errorf("%s: on 18.16: %v", q.Name, err)
			continue
		}
		r := res.Queries[i]
		if r.Error != nil {
			t.Errorf("%s: on chdb: %s", q.Name, firstLine(*r.Error))
			continue
		}
		got, err := canonJSON(r.Data)
		if err != nil {
			t.Errorf("%s: chdb result: %v", q.Name, err)
			continue
		}
		if d := diffRows(want, got); d != "" {
			t.Errorf("%s: 18.16 and chdb differ: %s", q.Name, d)
			continue
		}
		if len(want) > 0 {
			nonEmpty++
		}
		t.Logf("%-70s %3d rows, same on both", q.Name, len(want))
	}
	// A comparison of empty results proves little: most queries must find
	// rows in the fixture.
	if nonEmpty < len(queries)-3 {
		t.Errorf("only %d of %d queries found rows in the fixture", nonEmpty, len(queries))
	}
}

type chdbQuery struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

type chdbResult struct {
	Version    string    `json:"version"`
	Timezone   string    `json:"timezone"`
	Statements []*string `json:"statements"`
	Queries    []struct {
		Name  string            `json:"name"`
		Data  []json.RawMessage `json:"data"`
		Error *string           `json:"error"`
	} `json:"queries"`
}

// runChdb runs the statements, then the queries, in one chdb session.
func runChdb(ctx context.Context, stmts []string, queries []chdbQuery) (*chdbResult, error) {
	in, err := json.Marshal(map[string]any{"statements": stmts, "queries": queries})
	if err != nil {
		return nil, fmt.Errorf("encode chdb request: %w", err)
	}
	cmd := exec.CommandContext(ctx, "python3", "testdata/chdb_run.py")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("run testdata/chdb_run.py (%s): %w\n%s", chdbInstall, err, stderr.String())
	}
	var res chdbResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("decode chdb_run.py output: %w\n%.2000s", err, stderr.String())
	}
	return &res, nil
}

// loadChdbFixture inserts a small deterministic fixture through the store's
// own insert code: a catalog with late and same-second versions, three
// lives (sponsored and ended, on air, organic), views inside and outside
// lives, chats with a burst and questions, purchases in two currencies, and
// dead letters.
func loadChdbFixture(ctx context.Context, t *testing.T, st *store.Store) {
	t.Helper()
	at := func(d time.Duration) time.Time { return chdbAnchor.Add(d) }
	ingested := at(-time.Hour)
	insert := func(r store.Rows) {
		t.Helper()
		r.SetIngestedAt(ingested)
		if err := st.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cats := []string{"beauty", "fashion", "home"}

	var brands store.BrandRows
	for b := uint64(1); b <= 3; b++ {
		brands.Add(&event.Brand{BrandID: b, Name: fmt.Sprintf("Brand %d", b), Country: "IT", UpdatedAt: at(-48 * time.Hour)}, 0, int64(b))
	}
	// Same second, later offset: the rename wins.
	brands.Add(&event.Brand{BrandID: 2, Name: "Brand 2 renamed", Country: "FR", UpdatedAt: at(-48 * time.Hour)}, 0, 10)
	insert(&brands)

	var products store.ProductRows
	for p := uint64(1); p <= 10; p++ {
		products.Add(&event.Product{ProductID: p, BrandID: 1 + p%3, Category: cats[p%3], Title: fmt.Sprintf("Product 'n' %d", p), Price: 9.5 + float64(p), Currency: "EUR", InStock: p%4 != 0, UpdatedAt: at(-48 * time.Hour)}, int32(p%2), int64(p))
	}
	// A newer version, then a late older one that must not win.
	products.Add(&event.Product{ProductID: 3, BrandID: 2, Category: "beauty", Title: "Product 3 v2", Price: 14.25, Currency: "EUR", InStock: true, UpdatedAt: at(-24 * time.Hour)}, 1, 20)
	products.Add(&event.Product{ProductID: 3, BrandID: 3, Category: "home", Title: "Product 3 late", Price: 1, Currency: "EUR", InStock: false, UpdatedAt: at(-72 * time.Hour)}, 1, 21)
	insert(&products)

	var infl store.InfluencerRows
	for i := uint64(1); i <= 3; i++ {
		infl.Add(&event.Influencer{InfluencerID: i, Handle: fmt.Sprintf("@infl%d", i), Followers: 1000 * i, Country: "IT", Categories: cats[:i], Fee: 500 * float64(i), UpdatedAt: at(-48 * time.Hour)}, 0, int64(i))
	}
	infl.Add(&event.Influencer{InfluencerID: 1, Handle: "@infl1.new", Followers: 1500, Country: "ES", Categories: []string{"beauty", "home"}, Fee: 800, UpdatedAt: at(-12 * time.Hour)}, 0, 9)
	insert(&infl)

	var lives store.LiveRows
	type live struct {
		id, infl, sponsor uint64
		fee               float64
		start, end        time.Duration // from the anchor; end 0 = on air
	}
	for i, l := range []live{{5000, 1, 2, 1800, -5 * time.Hour, -3 * time.Hour}, {5001, 2, 0, 0, -2 * time.Hour, 0}, {5002, 3, 3, 950.5, -4 * time.Hour, -90 * time.Minute}} {
		v := event.Live{LiveID: l.id, InfluencerID: l.infl, SponsorBrandID: l.sponsor, Fee: l.fee, ProductIDs: []uint64{l.infl, l.infl + 3}, StartedAt: at(l.start), UpdatedAt: at(l.start)}
		lives.Add(&v, 0, int64(2*i))
		if l.end != 0 {
			v.EndedAt, v.UpdatedAt = at(l.end), at(l.end)
			lives.Add(&v, 0, int64(2*i+1))
		}
	}
	insert(&lives)

	liveOf := func(n int) (live, infl uint64) {
		switch n % 4 {
		case 1:
			return 5000, 1
		case 2:
			return 5001, 2
		case 3:
			return 5002, 3
		}
		return 0, 0
	}
	surfaces := []string{"feed", "search", "shop"}
	var views store.ViewRows
	for n := 0; n < 240; n++ {
		lv, inf := liveOf(n)
		surface := surfaces[n%3]
		if lv != 0 {
			surface = "live"
		}
		ts := at(-time.Duration(5*3600-n*73) * time.Second).Add(time.Duration(n%1000) * time.Millisecond)
		views.Add(&event.View{EventID: fmt.Sprintf("v-%d", n), TS: ts, UserID: uint64(1 + n%17), ProductID: uint64(1 + n%9), InfluencerID: inf, LiveID: lv, Surface: surface, DwellMS: uint32(n * 37 % 9000)}, int32(n%2), int64(n/2))
	}
	// An event_id reused beyond the duplicate window: stored twice.
	views.Add(&event.View{EventID: "v-0", TS: at(-30 * time.Minute), UserID: 1, ProductID: 1, Surface: "feed"}, 0, 500)
	insert(&views)

	var chats store.ChatRows
	for n := 0; n < 60; n++ {
		lv, inf := liveOf(1 + n%3)
		text := fmt.Sprintf("hello %d", n%7)
		if n%5 == 0 {
			text = "is it vegan?"
		}
		chats.Add(&event.Chat{EventID: fmt.Sprintf("c-%d", n), TS: at(-time.Duration(4*3600-n*97) * time.Second), UserID: uint64(1 + n%13), LiveID: lv, InfluencerID: inf, ProductID: uint64(n % 4), Text: text}, int32(n%2), int64(n/2))
	}
	// A burst: six identical messages within ten seconds in live 5000.
	burst := at(-4 * time.Hour).Truncate(10 * time.Second)
	for n := 0; n < 6; n++ {
		chats.Add(&event.Chat{EventID: fmt.Sprintf("c-burst-%d", n), TS: burst.Add(time.Duration(n) * time.Second), UserID: uint64(20 + n), LiveID: 5000, InfluencerID: 1, Text: "WIN NOW"}, 0, int64(100+n))
	}
	insert(&chats)

	var purchases store.PurchaseRows
	for n := 0; n < 40; n++ {
		lv, inf := liveOf(n)
		cur := "EUR"
		if n%11 == 0 {
			cur = "USD"
		}
		purchases.Add(&event.Purchase{EventID: fmt.Sprintf("p-%d", n), TS: at(-time.Duration(5*3600-n*400) * time.Second), OrderID: fmt.Sprintf("o-%d", n/2), UserID: uint64(1 + n%17), ProductID: uint64(1 + n%9), InfluencerID: inf, LiveID: lv, Quantity: uint32(1 + n%3), UnitPrice: 9.9 + float64(n%5)*0.35, Currency: cur}, int32(n%2), int64(n/2))
	}
	insert(&purchases)

	var dl store.DeadLetterRows
	dl.Add("vetrina.views", 0, 1, []byte(`{"event_id":"x","ts":"yesterday"}`), "bad_timestamp", "bad_timestamp: ts: want RFC 3339, e.g. 2026-11-25T16:15:00Z")
	dl.Add("vetrina.views", 1, 7, []byte("not json \\ 'quoted'"), "malformed_json", "malformed_json: want a JSON object at byte 0")
	dl.Add("vetrina.purchases", 0, 4, []byte(`{"quantity":0}`), "out_of_range", "out_of_range: quantity: want 1 to 1000000, got 0")
	insert(&dl)
}

// renderInsert reads every row of db.table from 18.16 and renders it as one
// INSERT with the column list, in JSONEachRow (values escaped by
// encoding/json). It returns the statement and the number of rows.
func renderInsert(ctx context.Context, conn driver.Conn, db, table string, cols []string) (string, int, error) {
	rows, err := conn.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+db+"."+table)
	if err != nil {
		return "", 0, fmt.Errorf("read %s.%s from 18.16: %w", db, table, err)
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteString("INSERT INTO " + db + "." + table + " (" + strings.Join(cols, ", ") + ") FORMAT JSONEachRow\n")
	n := 0
	for rows.Next() {
		vals, err := scanAny(rows)
		if err != nil {
			return "", 0, fmt.Errorf("scan %s.%s: %w", db, table, err)
		}
		row := map[string]any{}
		for i, c := range cols {
			row[c] = jsonValue(vals[i])
		}
		line, err := json.Marshal(row)
		if err != nil {
			return "", 0, fmt.Errorf("encode a row of %s.%s: %w", db, table, err)
		}
		b.Write(line)
		b.WriteByte('\n')
		n++
	}
	if err := rows.Err(); err != nil {
		return "", 0, fmt.Errorf("read %s.%s from 18.16: %w", db, table, err)
	}
	return b.String(), n, nil
}

// jsonValue is v as JSONEachRow takes it: DateTime as a UTC string.
func jsonValue(v any) any {
	if tm, ok := v.(time.Time); ok {
		return tm.UTC().Format(time.DateTime)
	}
	return v
}

// scanAny scans the current row into values of the columns' scan types.
func scanAny(rows driver.Rows) ([]any, error) {
	types := rows.ColumnTypes()
	ptrs := make([]any, len(types))
	for i, ct := range types {
		ptrs[i] = reflect.New(ct.ScanType()).Interface()
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	vals := make([]any, len(ptrs))
	for i, p := range ptrs {
		vals[i] = reflect.ValueOf(p).Elem().Interface()
	}
	return vals, nil
}

// query1816 runs q on 18.16 and returns its rows in canonical form.
func query1816(ctx context.Context, conn driver.Conn, q string, args ...any) ([][]string, error) {
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := scanAny(rows)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = canonGo(reflect.ValueOf(v))
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// canonGo renders a scanned value as canonJSON renders chdb's JSONCompact
// value: numbers in decimal, DateTime as UTC "YYYY-MM-DD hh:mm:ss", arrays
// as [a,b].
func canonGo(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "NULL"
		}
		v = v.Elem()
	}
	if tm, ok := v.Interface().(time.Time); ok {
		return tm.UTC().Format(time.DateTime)
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Bool:
		return map[bool]string{true: "1", false: "0"}[v.Bool()]
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = canonGo(v.Index(i))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// canonJSON renders chdb's JSONCompact rows in canonical form.
func canonJSON(data []json.RawMessage) ([][]string, error) {
	var out [][]string
	for _, raw := range data {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var cells []any
		if err := dec.Decode(&cells); err != nil {
			return nil, fmt.Errorf("decode row %s: %w", raw, err)
		}
		row := make([]string, len(cells))
		for i, c := range cells {
			row[i] = canonCell(c)
		}
		out = append(out, row)
	}
	return out, nil
}

func canonCell(c any) string {
	switch c := c.(type) {
	case nil:
		return "NULL"
	case string:
		return c
	case json.Number:
		return c.String()
	case bool:
		return map[bool]string{true: "1", false: "0"}[c]
	case []any:
		parts := make([]string, len(c))
		for i, e := range c {
			parts[i] = canonCell(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(c)
}

// diffRows compares two results as multisets of rows (the store's reads
// promise no order) and returns "" when they hold the same rows: equal
// cells, or numbers equal to 1e-9 relative (sums in another order).
func diffRows(want, got [][]string) string {
	if len(want) != len(got) {
		return fmt.Sprintf("18.16 gave %d rows, chdb %d (first rows %v vs %v)", len(want), len(got), head(want), head(got))
	}
	sortRows(want)
	sortRows(got)
	for i := range want {
		if len(want[i]) != len(got[i]) {
			return fmt.Sprintf("row %d: %d columns vs %d", i, len(want[i]), len(got[i]))
		}
		for j := range want[i] {
			if !sameCell(want[i][j], got[i][j]) {
				return fmt.Sprintf("row %d column %d: 18.16 %q, chdb %q (rows %v vs %v)", i, j+1, want[i][j], got[i][j], want[i], got[i])
			}
		}
	}
	return ""
}

func sameCell(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	return math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
}

func sortRows(rows [][]string) {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "\x00") < strings.Join(rows[j], "\x00") })
}

func head(rows [][]string) [][]string {
	return rows[:min(len(rows), 2)]
}

// renderArgs replaces each ? outside a string literal of q with args[i] as
// a ClickHouse literal: DateTime as toDateTime(unix seconds), integers in
// decimal, strings quoted by quoteString.
func renderArgs(q string, args []any) (string, error) {
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case inStr && c == '\\' && i+1 < len(q):
			b.WriteByte(c)
			i++
			b.WriteByte(q[i])
			continue
		case c == '\'':
			inStr = !inStr
		case c == '?' && !inStr:
			if n >= len(args) {
				return "", fmt.Errorf("render query: more placeholders than %d arguments", len(args))
			}
			lit, err := literal(args[n])
			if err != nil {
				return "", fmt.Errorf("render query argument %d: %w", n+1, err)
			}
			b.WriteString(lit)
			n++
			continue
		}
		b.WriteByte(c)
	}
	if n != len(args) {
		return "", fmt.Errorf("render query: %d placeholders, %d arguments", n, len(args))
	}
	return b.String(), nil
}

func literal(v any) (string, error) {
	switch v := v.(type) {
	case time.Time:
		return fmt.Sprintf("toDateTime(%d)", v.Unix()), nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case int:
		return strconv.Itoa(v), nil
	case string:
		return quoteString(v), nil
	}
	return "", fmt.Errorf("no literal for %T", v)
}

// quoteString is s as a ClickHouse string literal.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\t", `\t`, "\r", `\r`, "\x00", `\0`)
	return "'" + r.Replace(s) + "'"
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return abbreviate(l)
}

func abbreviate(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
