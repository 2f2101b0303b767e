package offline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vetrina/vetrina/ranking"
	"github.com/vetrina/vetrina/sim"
)

func TestReadInteractions_FormatsAndCatalog(t *testing.T) {
	in := strings.Join([]string{
		"user_id,item_id,ts,kind,category,price",
		"1,10,1700000300,view",                            // seconds
		"2,10,1700000100000,purchase,shoes,59.9",          // milliseconds
		"1,20,2023-11-14T22:15:00Z,chat,\"bags, small\",", // RFC 3339, quoted category, empty price
		"3,10,2023-11-14T23:13:21.5+01:00,view,boots",     // RFC 3339 with offset and fraction: later category wins
		" 4 , 30 , 1700000200 , purchase ",                // spaces around fields
	}, "\n") + "\n"
	d, err := ReadInteractions(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []ranking.Interaction{
		{User: 2, Item: 10, Kind: ranking.Purchase, Unix: 1700000100},
		{User: 1, Item: 20, Kind: ranking.Chat, Unix: 1700000100},
		{User: 4, Item: 30, Kind: ranking.Purchase, Unix: 1700000200},
		{User: 3, Item: 10, Kind: ranking.View, Unix: 1700000001},
		{User: 1, Item: 10, Kind: ranking.View, Unix: 1700000300},
	}
	// 2023-11-14T22:15:00Z is 1700000100; 23:13:21.5+01:00 is 1700000001.5.
	sortByTime(want)
	if len(d.Interactions) != len(want) {
		t.Fatalf("got %d interactions, want %d: %+v", len(d.Interactions), len(want), d.Interactions)
	}
	for i := range want {
		if d.Interactions[i] != want[i] {
			t.Errorf("interaction %d = %+v, want %+v", i, d.Interactions[i], want[i])
		}
	}
	items := map[uint64]ranking.Item{}
	for _, it := range d.Items {
		items[it.ID] = it
	}
	if len(items) != 3 || len(d.Items) != 3 {
		t.Fatalf("catalog %+v, want items 10, 20, 30", d.Items)
	}
	if it := items[10]; it.Category != "boots" || it.Price != 59.9 || !it.InStock {
		t.Errorf("item 10 = %+v, want category boots (the later row), price 59.9, in stock", it)
	}
	if it := items[20]; it.Category != "bags, small" || it.Price != 0 {
		t.Errorf("item 20 = %+v, want the quoted category and no price", it)
	}
	if d.Users() != 4 {
		t.Errorf("Users() = %d, want 4", d.Users())
	}
}

func TestReadInteractions_NoHeader(t *testing.T) {
	d, err := ReadInteractions(strings.NewReader("5,6,100,view\n5,7,99,purchase\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Interactions) != 2 || d.Interactions[0].Item != 7 || d.Interactions[1].Item != 6 {
		t.Errorf("interactions %+v, want both, sorted by time", d.Interactions)
	}
}

func TestReadInteractions_ErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"kind", "user_id,item_id,ts,kind\n1,2,100,view\n1,2,101,like\n", "line 3: kind \"like\""},
		{"user", "1,2,100,view\nx,2,100,view\n", "line 2: user_id \"x\""},
		{"item", "1,-2,100,view\n", "line 1: item_id \"-2\""},
		{"ts", "1,2,100,view\n1,2,yesterday,view\n", "line 2: ts \"yesterday\""},
		{"ts zero", "1,2,0,view\n", "line 1: ts \"0\": want a time after 1970"},
		{"ts far future", "1,2,7000-01-01T00:00:00Z,view\n", "line 1: ts \"7000-01-01T00:00:00Z\": want a time after 1970 and before the year 5138"},
		{"price", "1,2,100,view,shoes,free\n", "line 1: price \"free\""},
		{"negative price", "1,2,100,view,shoes,-3\n", "line 1: price \"-3\""},
		{"too few fields", "1,2,100,view\n1,2,100\n", "line 2: 3 fields"},
		{"too many fields", "1,2,100,view,a,1,extra\n", "line 1: 7 fields"},
		{"bad quote", "1,2,100,view\n1,2,100,view,\"sh\"oes\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadInteractions(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestWriteInteractions_RoundTrip(t *testing.T) {
	d, _, err := Simulate(3, 5000, smallWorld(3))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteInteractions(&buf, d); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), CSVHeader+"\n") {
		t.Errorf("no header: %.80q", buf.String())
	}
	back, err := ReadInteractions(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Interactions) != len(d.Interactions) {
		t.Fatalf("read back %d interactions, wrote %d", len(back.Interactions), len(d.Interactions))
	}
	for i := range d.Interactions {
		w := d.Interactions[i]
		w.DwellMS = 0 // not part of the CSV
		if back.Interactions[i] != w {
			t.Fatalf("interaction %d: read back %+v, wrote %+v", i, back.Interactions[i], w)
		}
	}
	orig := map[uint64]ranking.Item{}
	for _, it := range d.Items {
		orig[it.ID] = it
	}
	for _, it := range back.Items {
		o := orig[it.ID]
		if it.Category != o.Category || it.Price != o.Price {
			t.Fatalf("item %d: read back %q %v, wrote %q %v", it.ID, it.Category, it.Price, o.Category, o.Price)
		}
	}
}

func FuzzReadInteractions(f *testing.F) {
	f.Add("user_id,item_id,ts,kind,category,price\n1,2,1700000000,view,shoes,9.5\n")
	f.Add("1,2,1700000000000,purchase\n3,4,2024-01-02T03:04:05Z,chat,\"a,b\"\n")
	f.Add("1,2,3,view,,\n")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ReadInteractions(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteInteractions(&buf, d); err != nil {
			t.Fatal(err)
		}
		back, err := ReadInteractions(&buf)
		if err != nil {
			t.Fatalf("reading what WriteInteractions wrote: %v\n%s", err, buf.String())
		}
		if len(back.Interactions) != len(d.Interactions) {
			t.Fatalf("%d interactions after the round trip, want %d", len(back.Interactions), len(d.Interactions))
		}
		for i := range d.Interactions {
			if back.Interactions[i] != d.Interactions[i] {
				t.Fatalf("interaction %d: %+v after the round trip, want %+v", i, back.Interactions[i], d.Interactions[i])
			}
		}
	})
}

func TestReadMovieLens_Fixture(t *testing.T) {
	d, err := ReadMovieLens(filepath.Join("testdata", "movielens"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Interactions) != 17 {
		t.Fatalf("%d interactions, want the fixture's 17 ratings", len(d.Interactions))
	}
	for i := 1; i < len(d.Interactions); i++ {
		if d.Interactions[i].Unix < d.Interactions[i-1].Unix {
			t.Fatalf("not sorted by time at %d", i)
		}
	}
	// The earliest rating is user 5's 5.0 of movie 5: a purchase.
	if first := d.Interactions[0]; first != (ranking.Interaction{User: 5, Item: 5, Kind: ranking.Purchase, Unix: 964000000}) {
		t.Errorf("first interaction %+v", first)
	}
	kinds := map[[2]uint64]ranking.Kind{}
	for _, in := range d.Interactions {
		kinds[[2]uint64{in.User, in.Item}] = in.Kind
	}
	for _, tc := range []struct {
		user, item uint64
		want       ranking.Kind
	}{
		{1, 2, ranking.View},     // 3.5
		{1, 3, ranking.Purchase}, // 5.0
		{3, 2, ranking.Purchase}, // exactly 4.0
		{4, 3, ranking.View},     // 3.9
	} {
		if got := kinds[[2]uint64{tc.user, tc.item}]; got != tc.want {
			t.Errorf("user %d movie %d: %v, want %v", tc.user, tc.item, got, tc.want)
		}
	}
	cats := map[uint64]string{}
	for _, it := range d.Items {
		cats[it.ID] = it.Category
	}
	want := map[uint64]string{1: "Adventure", 2: "Comedy", 3: "Drama", 4: "", 5: "Thriller", 6: "Documentary", 9: ""}
	if len(cats) != len(want) {
		t.Errorf("catalog %v, want %v (every movie, rated or not, and rated movies missing from movies.csv)", cats, want)
	}
	for id, c := range want {
		if got, ok := cats[id]; !ok || got != c {
			t.Errorf("movie %d category %q (present %v), want %q", id, got, ok, c)
		}
	}
}

func TestReadMovieLens_Errors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadMovieLens(dir); err == nil || !strings.Contains(err.Error(), "movies.csv") {
		t.Errorf("missing files: err = %v, want it to name movies.csv", err)
	}
	writeFile(t, filepath.Join(dir, "movies.csv"), "movieId,title,genres\n1,A,Drama\n")
	writeFile(t, filepath.Join(dir, "ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,1,great,964982704\n")
	if _, err := ReadMovieLens(dir); err == nil || !strings.Contains(err.Error(), "ratings.csv: line 3: rating \"great\"") {
		t.Errorf("bad rating: err = %v, want the file, line 3 and the rating", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// smallWorld is a world small enough for tests.
func smallWorld(seed int64) sim.Config {
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Users, cfg.Brands, cfg.ProductsPerBrand, cfg.Influencers = seed, 1500, 30, 10, 40
	return cfg
}
