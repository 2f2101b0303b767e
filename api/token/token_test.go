package token

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParse_RejectsWhatIsWrong(t *testing.T) {
	good := HashHex("x")
	for name, tc := range map[string]struct{ doc, want string }{
		"not json":        {`{`, "unexpected EOF"},
		"unknown field":   {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["feed"],"token":"plain"}]}`, "unknown field"},
		"no name":         {`{"tokens":[{"sha256":"` + good + `","scopes":["feed"]}]}`, "name is required"},
		"short hash":      {`{"tokens":[{"name":"a","sha256":"abc","scopes":["feed"]}]}`, "64 hex digits"},
		"no scopes":       {`{"tokens":[{"name":"a","sha256":"` + good + `"}]}`, "at least one scope"},
		"unknown scope":   {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["root"]}]}`, `unknown scope "root"`},
		"bad brand":       {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["brand:acme"]}]}`, "brand id must be a positive integer"},
		"brand zero":      {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["brand:0"]}]}`, "brand id must be a positive integer"},
		"negative rate":   {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["feed"],"rate":-1}]}`, "rate -1: want"},
		"rate too high":   {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["feed"],"rate":1000001}]}`, "at most 1000000"},
		"rate overflow":   {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["feed"],"rate":1e400}]}`, "rate"},
		"duplicate name":  {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["feed"]},{"name":"a","sha256":"` + HashHex("y") + `","scopes":["feed"]}]}`, "used twice"},
		"duplicate token": {`{"tokens":[{"name":"a","sha256":"` + good + `","scopes":["feed"]},{"name":"b","sha256":"` + good + `","scopes":["admin"]}]}`, "hash appears twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestParse_RatesAndBursts: 0 is the default, a slow token still has a
// burst of one request, the maximum is accepted.
func TestParse_RatesAndBursts(t *testing.T) {
	for _, tc := range []struct {
		rate      float64
		wantRate  float64
		wantBurst int
	}{
		{0, DefaultRate, 2 * DefaultRate}, {0.4, 0.4, 1}, {1e-12, 1e-12, 1}, {0.75, 0.75, 2}, {1, 1, 2}, {MaxRate, MaxRate, 2 * MaxRate},
	} {
		doc := `{"tokens":[{"name":"a","sha256":"` + HashHex("x") + `","scopes":["feed"],"rate":` + strconv.FormatFloat(tc.rate, 'g', -1, 64) + `}]}`
		s, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("rate %v: %v", tc.rate, err)
		}
		for _, g := range s.All() {
			if g.Rate != tc.wantRate || g.Burst != tc.wantBurst {
				t.Errorf("rate %v: grant rate %v burst %d, want %v and %d", tc.rate, g.Rate, g.Burst, tc.wantRate, tc.wantBurst)
			}
		}
	}
}

func TestNew_RandomAndHashed(t *testing.T) {
	a, b := New(), New()
	if a == b || len(a) != 46 || !strings.HasPrefix(a, "vt_") {
		t.Fatalf("tokens %q %q", a, b)
	}
	if h := HashHex(a); len(h) != 64 || strings.Contains(h, a) {
		t.Fatalf("hash %q", h)
	}
}

// TestEdit_AddsRevokesAndRefusesWhatWouldNotParse: Edit creates the file
// (mode 0600), keeps what parses, and leaves the file alone when the edit
// would break it.
func TestEdit_AddsRevokesAndRefusesWhatWouldNotParse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tok := New()
	add := func(f *File) error {
		f.Tokens = append(f.Tokens, Entry{Name: "acme", SHA256: HashHex(tok), Scopes: []string{"brand:42"}, Rate: 5})
		return nil
	}
	if err := Edit(path, add); err != nil {
		t.Fatal(err)
	}
	s, info, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 || s.Len() != 1 {
		t.Fatalf("mode %v, %d tokens", info.Mode().Perm(), s.Len())
	}
	for h, g := range s.All() {
		if h != HashOf(tok) || g.Name != "acme" || len(g.Brands) != 1 || g.Brands[0] != 42 || g.Rate != 5 || g.Feed || g.Admin {
			t.Errorf("grant %+v", g)
		}
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), tok) {
		t.Fatal("the token file holds the token in clear")
	}
	// The same name twice would not parse: refused, the file unchanged.
	if err := Edit(path, add); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Fatalf("duplicate entry: %v", err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(data) {
		t.Error("a refused edit changed the file")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"tokens":[{"name":"a","sha256":"` + HashHex("x") + `","scopes":["feed","brand:7"],"rate":10}]}`))
	f.Add([]byte(`{"tokens":[{"name":"a","sha256":"zz","scopes":["brand:-1"]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, err := Parse(data)
		if err == nil && toks == nil {
			t.Fatal("no error and no tokens")
		}
		if err == nil {
			for _, g := range toks.All() {
				if !(g.Rate > 0 && g.Rate <= MaxRate) || g.Burst < 1 {
					t.Fatalf("grant %+v: a rate outside (0, %d] or a burst under 1", g, MaxRate)
				}
			}
		}
	})
}

// TestEdit_KeepsTheModeOfAnExistingFile: an operator who made the file
// readable to a server's user (docker-compose runs it as another uid)
// keeps it readable after `vetrina token` edits it; a new file is 0600.
func TestEdit_KeepsTheModeOfAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	add := func(name string) func(*File) error {
		return func(f *File) error {
			f.Tokens = append(f.Tokens, Entry{Name: name, SHA256: HashHex(New()), Scopes: []string{"feed"}})
			return nil
		}
	}
	if err := Edit(path, add("a")); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode %v, want 0600", info.Mode().Perm())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Edit(path, add("b")); err != nil {
		t.Fatal(err)
	}
	s, info, err := Read(path)
	if err != nil || s.Len() != 2 || info.Mode().Perm() != 0o644 {
		t.Fatalf("after an edit: %v, %d tokens, mode %v; want 2 tokens and the mode kept at 0644", err, s.Len(), info.Mode().Perm())
	}
}
