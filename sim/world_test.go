package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewWorldValidation(t *testing.T) {
	base := DefaultConfig()
	base.Users, base.Brands, base.Influencers = 100, 10, 10
	tests := []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{"valid", func(*Config) {}, true},
		{"nil categories use defaults", func(c *Config) { c.Categories = nil }, true},
		{"zero optional rates use defaults", func(c *Config) { c.MeanActivity, c.LiveViewsPerHour = 0, 0 }, true},
		{"no lives", func(c *Config) { c.LivesPerHour = 0 }, true},
		{"more categories than brands", func(c *Config) { c.Brands = 3 }, true},
		{"custom categories", func(c *Config) { c.Categories = []string{"a", "b"} }, true},
		{"too few users", func(c *Config) { c.Users = 9 }, false},
		{"no brands", func(c *Config) { c.Brands = 0 }, false},
		{"no products", func(c *Config) { c.ProductsPerBrand = 0 }, false},
		{"no influencers", func(c *Config) { c.Influencers = -1 }, false},
		{"negative lives", func(c *Config) { c.LivesPerHour = -1 }, false},
		{"NaN lives", func(c *Config) { c.LivesPerHour = math.NaN() }, false},
		{"sponsored share above 1", func(c *Config) { c.SponsoredShare = 1.5 }, false},
		{"negative activity", func(c *Config) { c.MeanActivity = -2 }, false},
		{"infinite reach", func(c *Config) { c.LiveViewsPerHour = math.Inf(1) }, false},
		{"empty category list", func(c *Config) { c.Categories = []string{} }, false},
		{"empty category name", func(c *Config) { c.Categories = []string{"a", ""} }, false},
		{"duplicate category", func(c *Config) { c.Categories = []string{"a", "a"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.Categories = slices.Clone(base.Categories)
			tt.modify(&cfg)
			w, err := NewWorld(cfg)
			if tt.ok {
				if err != nil {
					t.Fatalf("NewWorld: %v", err)
				}
				checkWorld(t, w)
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewWorld error = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// checkWorld checks the structural invariants of a world.
func checkWorld(t *testing.T, w *World) {
	t.Helper()
	cfg := w.Config
	nc := len(cfg.Categories)
	if len(w.Users) != cfg.Users || len(w.Brands) != cfg.Brands ||
		len(w.Products) != cfg.Brands*cfg.ProductsPerBrand || len(w.Influencers) != cfg.Influencers {
		t.Fatalf("entity counts %d/%d/%d/%d do not match config %+v",
			len(w.Users), len(w.Brands), len(w.Products), len(w.Influencers), cfg)
	}
	sumsToOne := func(what string, v []float64) {
		t.Helper()
		if len(v) != nc {
			t.Fatalf("%s has %d entries, want %d", what, len(v), nc)
		}
		var s float64
		for _, x := range v {
			if !(x >= 0) {
				t.Fatalf("%s has entry %v", what, x)
			}
			s += x
		}
		if math.Abs(s-1) > 1e-9 {
			t.Fatalf("%s sums to %v", what, s)
		}
	}
	sumsToOne("category popularity", w.CategoryPopularity)
	bots := 0
	for i, u := range w.Users {
		if u.ID != uint64(i+1) || u.Country == "" {
			t.Fatalf("user %d = %+v", i, u)
		}
		sumsToOne("user tastes", u.Tastes)
		if u.Bot {
			bots++
		} else if !(u.Activity > 0) {
			t.Fatalf("user %d has activity %v", u.ID, u.Activity)
		}
	}
	if bots == 0 || bots > cfg.Users/10 {
		t.Fatalf("%d bots among %d users", bots, cfg.Users)
	}
	cats := map[string]bool{}
	for _, c := range cfg.Categories {
		cats[c] = true
	}
	for i, b := range w.Brands {
		if b.ID != uint64(i+1) || b.Name == "" || len(b.Categories) == 0 || !(b.PriceTier > 0) {
			t.Fatalf("brand %d = %+v", i, b)
		}
	}
	for i, p := range w.Products {
		b, ok := w.Brand(p.BrandID)
		if p.ID != uint64(i+1) || !ok || !slices.Contains(b.Categories, p.Category) || p.Title == "" ||
			!(p.Price > 0) || p.Currency != "EUR" || !(p.Appeal > 0) || !(p.PriceFactor >= 0.3 && p.PriceFactor <= 3) {
			t.Fatalf("product %d = %+v", i, p)
		}
	}
	handles := map[string]bool{}
	for i, in := range w.Influencers {
		if in.ID != uint64(i+1) || in.Handle == "" || handles[in.Handle] || in.Followers == 0 ||
			len(in.Categories) == 0 || !(in.Skill > 0) || !(in.ChatRate > 0) || !(in.Fee > 0) ||
			in.FakeShare < 0 || in.FakeShare >= 1 {
			t.Fatalf("influencer %d = %+v", i, in)
		}
		handles[in.Handle] = true
		for _, c := range in.Categories {
			if !cats[c] {
				t.Fatalf("influencer %d has unknown category %q", in.ID, c)
			}
		}
		sumsToOne("audience tastes", in.AudienceTastes)
	}
}

func TestWorldDistributions(t *testing.T) {
	w, err := NewWorld(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	checkWorld(t, w)
	nc := float64(len(w.Config.Categories))

	// Tastes are concentrated: the top three categories hold most of the
	// mass, far more than the uniform 3/12.
	var top3, n float64
	for _, u := range w.Users {
		if u.Bot {
			continue
		}
		s := slices.Clone(u.Tastes)
		slices.Sort(s)
		top3 += s[len(s)-1] + s[len(s)-2] + s[len(s)-3]
		n++
	}
	if top3 /= n; top3 < 0.75 {
		t.Errorf("mean top-3 taste mass = %.3f, want >= 0.75 (uniform: %.3f)", top3, 3/nc)
	}

	// Activity is heavy-tailed: mean near the configured one, max far above.
	var acts []float64
	for _, u := range w.Users {
		if !u.Bot {
			acts = append(acts, u.Activity)
		}
	}
	mean := meanOf(acts)
	if math.Abs(mean-w.Config.MeanActivity)/w.Config.MeanActivity > 0.1 {
		t.Errorf("mean activity = %.3f, want about %v", mean, w.Config.MeanActivity)
	}
	if mx := slices.Max(acts); mx < 10*mean {
		t.Errorf("max activity %.2f is not heavy-tailed (mean %.2f)", mx, mean)
	}

	// Fees follow followers; most influencers have no fake audience.
	var fol, fee []float64
	clean := 0
	for _, in := range w.Influencers {
		fol = append(fol, float64(in.Followers))
		fee = append(fee, in.Fee)
		if in.FakeShare == 0 {
			clean++
		}
	}
	if rho := spearman(fol, fee); rho < 0.7 {
		t.Errorf("Spearman(followers, fee) = %.3f, want >= 0.7", rho)
	}
	if share := float64(clean) / float64(len(w.Influencers)); share < 0.75 || share > 0.95 {
		t.Errorf("share of influencers without fake audience = %.3f, want in [0.75, 0.95]", share)
	}
	if med := median(fol); med < 10000 || med > 40000 {
		t.Errorf("median followers = %v, want about 20000", med)
	}
}

func TestWorldLookupsAndTruthFunctions(t *testing.T) {
	w := smallWorld(t, 3)
	u := &w.Users[0]
	for u.Bot {
		u = &w.Users[u.ID]
	}
	p := &w.Products[0]
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"affinity", w.Affinity(u.ID, p.ID), u.Tastes[w.CategoryIndex(p.Category)] * p.Appeal * p.PriceFactor},
		{"affinity of unknown user", w.Affinity(0, p.ID), 0},
		{"affinity of unknown product", w.Affinity(u.ID, uint64(len(w.Products)+1)), 0},
		{"browse purchase on live surface", w.BrowsePurchaseProb(u.ID, p.ID, 2), 0},
		{"search purchase", w.BrowsePurchaseProb(u.ID, p.ID, 3), min(0.5, 0.014*1.5*w.Affinity(u.ID, p.ID))},
		{"live purchase", w.LivePurchaseProb(u.ID, p.ID, 1), min(0.5, 0.055*w.Influencers[0].Skill*w.Affinity(u.ID, p.ID))},
		{"live purchase of unknown influencer", w.LivePurchaseProb(u.ID, p.ID, 0), 0},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if _, ok := w.User(uint64(len(w.Users) + 1)); ok {
		t.Error("User found an ID past the end")
	}
	if b, ok := w.Brand(2); !ok || b.ID != 2 {
		t.Errorf("Brand(2) = %v, %v", b, ok)
	}
	if in, ok := w.Influencer(1); !ok || in.ID != 1 {
		t.Errorf("Influencer(1) = %v, %v", in, ok)
	}
	if w.CategoryIndex("nope") != -1 || w.CategoryIndex(w.Config.Categories[2]) != 2 {
		t.Error("CategoryIndex is wrong")
	}
}

func TestWriteTruth(t *testing.T) {
	w := smallWorld(t, 5)
	var buf bytes.Buffer
	if err := w.WriteTruth(&buf); err != nil {
		t.Fatal(err)
	}
	var got World
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("truth is not valid JSON: %v", err)
	}
	if len(got.Users) != len(w.Users) || len(got.Products) != len(w.Products) ||
		len(got.Brands) != len(w.Brands) || len(got.Influencers) != len(w.Influencers) {
		t.Fatal("truth lost entities")
	}
	if !slices.Equal(got.Users[7].Tastes, w.Users[7].Tastes) || got.Influencers[3].Skill != w.Influencers[3].Skill ||
		got.Products[9].Appeal != w.Products[9].Appeal || got.Config.Seed != w.Config.Seed {
		t.Error("truth does not round-trip the parameters")
	}

	g := NewGenerator(w, 1, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	for range 20000 {
		g.Next()
	}
	buf.Reset()
	if err := g.WriteTruth(&buf); err != nil {
		t.Fatal(err)
	}
	var withLives struct {
		Users []User `json:"users"`
		Lives []Live `json:"lives"`
	}
	if err := json.Unmarshal(buf.Bytes(), &withLives); err != nil {
		t.Fatal(err)
	}
	if len(withLives.Lives) == 0 || len(withLives.Lives) != len(g.Lives()) || len(withLives.Users) != len(w.Users) {
		t.Fatalf("generator truth has %d lives (generator: %d) and %d users",
			len(withLives.Lives), len(g.Lives()), len(withLives.Users))
	}
	if l := withLives.Lives[0]; l.TrueExpectedGMV != g.Lives()[0].TrueExpectedGMV || !l.Start.Equal(g.Lives()[0].Start) {
		t.Errorf("live 1 = %+v, want %+v", l, g.Lives()[0])
	}
	if err := w.WriteTruth(failWriter{}); err == nil || !strings.Contains(err.Error(), "write truth") {
		t.Errorf("WriteTruth to a failing writer = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func smallWorld(t testing.TB, seed int64) *World {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Seed = seed
	cfg.Users, cfg.Brands, cfg.ProductsPerBrand, cfg.Influencers = 2000, 40, 10, 60
	cfg.LivesPerHour = 30
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func meanOf(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// spearman returns Spearman's rank correlation (average ranks for ties).
func spearman(x, y []float64) float64 {
	rx, ry := ranks(x), ranks(y)
	mx, my := meanOf(rx), meanOf(ry)
	var sxy, sxx, syy float64
	for i := range rx {
		dx, dy := rx[i]-mx, ry[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}

func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case x[a] < x[b]:
			return -1
		case x[a] > x[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}
