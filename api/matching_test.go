package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/store"
)

var matchingAsOf = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// matchingInputs is a small synthetic platform: brands 1–3 with products
// in three categories (brand 4 has none), 40 influencers (ids 100–139)
// with 0–12 lives each, audiences leaning to their own categories, fees
// for three in four.
func matchingInputs() *matching.Inputs {
	in := &matching.Inputs{AsOf: matchingAsOf, BrandNames: map[uint64]string{1: "Cucina", 2: "Glow", 3: "Volt", 4: "Nuovo"}}
	cats := []string{"beauty", "electronics", "kitchenware"}
	byCat := map[string][]event.Product{}
	pid := uint64(1)
	addProduct := func(brand uint64, cat string, price float64) {
		p := event.Product{ProductID: pid, BrandID: brand, Category: cat, Price: price, Currency: "EUR", InStock: true}
		in.Products = append(in.Products, p)
		in.Shop = append(in.Shop, store.ProductSales{ProductID: pid, Views: 2000, Orders: 40 + pid%7, Units: 40 + pid%7, GMV: float64(40+pid%7) * price})
		byCat[cat] = append(byCat[cat], p)
		pid++
	}
	for k := range 4 {
		addProduct(1, "kitchenware", 30+5*float64(k))
		addProduct(2, "beauty", 15+3*float64(k))
		addProduct(3, "electronics", 150+40*float64(k))
	}
	addProduct(1, "beauty", 25)
	live := uint64(1)
	for k := range 40 {
		id := uint64(100 + k)
		followers := uint64(5000 * math.Pow(1.15, float64(k)))
		fee := 80 + 20*float64(k%13)
		if k%4 == 3 {
			fee = 0
		}
		own := cats[k%3]
		in.Influencers = append(in.Influencers, event.Influencer{InfluencerID: id, Handle: fmt.Sprint("@inf", id), Followers: followers,
			Country: []string{"IT", "FR", "DE", "ES"}[k%4], Categories: []string{own, cats[(k+1)%3]}, Fee: fee})
		for _, c := range cats {
			share := 20.0
			if c == own {
				share = 60
			}
			in.Affinity = append(in.Affinity, store.AudienceCategory{InfluencerID: id, Category: c, Share: share})
		}
		for l := range k % 13 {
			start := matchingAsOf.Add(-time.Duration(4*l+1) * 24 * time.Hour)
			active := uint64(0.05 * math.Pow(float64(followers), 0.9) * (0.7 + 0.15*float64(l%5)))
			var sponsor uint64
			if l%4 == 1 {
				sponsor = uint64(1 + l%3)
			}
			in.Lives = append(in.Lives, event.Live{LiveID: live, InfluencerID: id, SponsorBrandID: sponsor, Fee: fee, StartedAt: start, EndedAt: start.Add(time.Hour)})
			in.Audiences = append(in.Audiences, store.LiveAudience{LiveID: live, InfluencerID: id, Start: start, Views: active * 5 / 4, Viewers: active / 2, ActiveViews: active, ActiveViewers: active * 2 / 5})
			in.Chats = append(in.Chats, store.LiveChats{LiveID: live, Chats: active / 10, Chatters: active / 20, BurstChats: uint64(k%5) * active / 100})
			for _, c := range cats {
				p := byCat[c][int(live)%len(byCat[c])]
				v := active / 3
				rate := 0.01 + 0.002*float64(k%7)
				if c == own {
					rate *= 2
				}
				o := uint64(float64(v) * rate)
				in.LiveProducts = append(in.LiveProducts, store.LiveProductStats{LiveID: live, ProductID: p.ProductID, ActiveViews: v, Orders: o, Units: o, GMV: float64(o) * p.Price})
			}
			live++
		}
	}
	return in
}

// mtSource serves fixed inputs as the store would.
type mtSource struct{ in *matching.Inputs }

func (s mtSource) Products(context.Context) ([]event.Product, error) { return s.in.Products, nil }
func (s mtSource) Influencers(context.Context) ([]event.Influencer, error) {
	return s.in.Influencers, nil
}
func (s mtSource) BrandNames(context.Context) (map[uint64]string, error) {
	return s.in.BrandNames, nil
}
func (s mtSource) Lives(context.Context) ([]event.Live, error) { return slices.Clone(s.in.Lives), nil }
func (s mtSource) LiveAudiences(context.Context, time.Time) ([]store.LiveAudience, error) {
	return s.in.Audiences, nil
}
func (s mtSource) LiveProducts(context.Context, time.Time) ([]store.LiveProductStats, error) {
	return s.in.LiveProducts, nil
}
func (s mtSource) LiveChatStats(context.Context, time.Time) ([]store.LiveChats, error) {
	return s.in.Chats, nil
}
func (s mtSource) Audiences(context.Context, time.Time) ([]store.AudienceCategory, error) {
	return s.in.Affinity, nil
}
func (s mtSource) ShopSales(context.Context, time.Time) ([]store.ProductSales, error) {
	return s.in.Shop, nil
}

// matchingServer serves the matching routes from a real matching.Service
// over the synthetic inputs, refreshed when ready is set.
func matchingServer(t *testing.T, ready bool) (string, *matching.Service) {
	t.Helper()
	svc := matching.NewService(matching.ServiceConfig{Source: mtSource{matchingInputs()}, Now: func() time.Time { return matchingAsOf }})
	if ready {
		if err := svc.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	return runServer(t, api.Config{Addr: "127.0.0.1:0", Matching: svc, Registerer: reg, Gatherer: reg}), svc
}

var mtClient = &http.Client{Timeout: 10 * time.Second}

func mtDo(t *testing.T, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := mtClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

type mtProblem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
}

// mtWantProblem checks an RFC 9457 answer with code whose detail contains
// every word.
func mtWantProblem(t *testing.T, resp *http.Response, body []byte, code int, words ...string) {
	t.Helper()
	if resp.StatusCode != code {
		t.Errorf("status %d, want %d: %s", resp.StatusCode, code, body)
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p mtProblem
	if err := json.Unmarshal(body, &p); err != nil || p.Status != code || p.Title == "" || p.Detail == "" || p.Instance != resp.Request.URL.Path {
		t.Errorf("problem body %s (%v)", body, err)
	}
	for _, w := range words {
		if !strings.Contains(p.Detail, w) {
			t.Errorf("problem detail %q does not mention %q", p.Detail, w)
		}
	}
}

func TestMatching_NotReadyIs503WithRetryAfter(t *testing.T) {
	base, svc := matchingServer(t, false)
	plan := `{"brands":[{"brand_id":1,"lives":1}]}`
	check := func(want int) {
		t.Helper()
		for _, r := range []struct {
			method, path, body string
		}{
			{"GET", "/v1/brands/1/influencers", ""},
			{"GET", "/v1/influencers/100", ""},
			{"POST", "/v1/plans", plan},
		} {
			var body io.Reader
			if r.body != "" {
				body = strings.NewReader(r.body)
			}
			resp, b := mtDo(t, r.method, base+r.path, body)
			if want == http.StatusServiceUnavailable {
				mtWantProblem(t, resp, b, want, "retry")
				if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s <= 0 {
					t.Errorf("%s %s: Retry-After %q, want seconds", r.method, r.path, resp.Header.Get("Retry-After"))
				}
			} else if resp.StatusCode != want || resp.Header.Get("Retry-After") != "" {
				t.Errorf("%s %s after refresh: %d %s", r.method, r.path, resp.StatusCode, b)
			}
		}
	}
	check(http.StatusServiceUnavailable)
	// Bad input is still a 400 while the profiles are computed.
	resp, b := mtDo(t, "GET", base+"/v1/brands/1/influencers?limit=abc", nil)
	mtWantProblem(t, resp, b, http.StatusBadRequest, "limit")
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(http.StatusOK)
}

func TestMatching_RankRoute(t *testing.T) {
	base, svc := matchingServer(t, true)
	m := svc.Model()

	// The fields of an answer, as JSON names.
	resp, b := mtDo(t, "GET", base+"/v1/brands/1/influencers", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var raw struct {
		BrandID uint64           `json:"brand_id"`
		Brand   string           `json:"brand"`
		Sort    string           `json:"sort"`
		AsOf    time.Time        `json:"as_of"`
		Matched int              `json:"matched"`
		Items   []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.BrandID != 1 || raw.Brand != "Cucina" || raw.Sort != "p50" || !raw.AsOf.Equal(matchingAsOf) || raw.Matched != 40 || len(raw.Items) != 20 {
		t.Fatalf("ranking header %+v with %d items", raw, len(raw.Items))
	}
	for _, it := range raw.Items {
		pred, _ := it["prediction"].(map[string]any)
		factors, _ := pred["factors"].(map[string]any)
		reasons, _ := it["reasons"].([]any)
		for _, k := range []string{"influencer_id", "handle", "followers", "country", "categories", "lives"} {
			if _, ok := it[k]; !ok {
				t.Errorf("item lacks %s: %v", k, it)
			}
		}
		for _, k := range []string{"gmv", "p10", "p50", "p90", "orders", "fee", "profit", "factors"} {
			if _, ok := pred[k]; !ok {
				t.Errorf("prediction lacks %s: %v", k, pred)
			}
		}
		for _, k := range []string{"reach", "affinity", "skill", "quality", "conversion", "order_value", "authenticity"} {
			if v, ok := factors[k].(float64); !ok || v < 0 {
				t.Errorf("factors lack %s: %v", k, factors)
			}
		}
		if len(reasons) == 0 {
			t.Errorf("item %v has no reasons", it["influencer_id"])
		}
		if _, ok := pred["roi"]; ok != (pred["fee"].(float64) > 0) {
			t.Errorf("roi present %v with fee %v", ok, pred["fee"])
		}
		p10, p50, p90 := pred["p10"].(float64), pred["p50"].(float64), pred["p90"].(float64)
		if !(0 <= p10 && p10 <= p50 && p50 <= p90) {
			t.Errorf("interval %v %v %v", p10, p50, p90)
		}
	}

	// Each query answers what Rank answers for the same Query, and the
	// items satisfy the filters and the order.
	for _, tc := range []struct {
		query string
		q     matching.Query
		ok    func(matching.Candidate) bool
	}{
		{"limit=3", matching.Query{Limit: 3}, nil},
		{"limit=200", matching.Query{Limit: 200}, nil},
		{"category=beauty", matching.Query{Category: "beauty"}, func(c matching.Candidate) bool { return slices.Contains(c.Categories, "beauty") }},
		{"country=FR", matching.Query{Country: "FR"}, func(c matching.Candidate) bool { return c.Country == "FR" }},
		{"min_followers=50000", matching.Query{MinFollowers: 50000}, func(c matching.Candidate) bool { return c.Followers >= 50000 }},
		{"max_fee=150", matching.Query{MaxFee: 150}, func(c matching.Candidate) bool { return c.Prediction.Fee > 0 && c.Prediction.Fee <= 150 }},
		{"sort=p10&limit=40", matching.Query{Sort: "p10", Limit: 40}, nil},
		{"sort=roi&commission=0.1", matching.Query{Sort: "roi", Commission: mtPtr(0.1)}, nil},
		{"sort=gmv&commission=0", matching.Query{Sort: "gmv", Commission: mtPtr(0.0)}, nil},
		{"category=kitchenware&country=IT&min_followers=10000&max_fee=300&sort=p10&limit=5",
			matching.Query{Category: "kitchenware", Country: "IT", MinFollowers: 10000, MaxFee: 300, Sort: "p10", Limit: 5},
			func(c matching.Candidate) bool {
				return slices.Contains(c.Categories, "kitchenware") && c.Country == "IT" && c.Followers >= 10000 && c.Prediction.Fee > 0 && c.Prediction.Fee <= 300
			}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			resp, b := mtDo(t, "GET", base+"/v1/brands/1/influencers?"+tc.query, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			want, err := m.Rank(context.Background(), 1, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got matching.Ranking
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			got.NextCursor = "" // the API's; pages are tested in TestMatching_RankPages
			wb, _ := json.Marshal(want)
			gb, _ := json.Marshal(got)
			if !bytes.Equal(wb, gb) {
				t.Errorf("answer differs from Rank(%+v):\n got %s\nwant %s", tc.q, gb, wb)
			}
			if len(got.Items) == 0 || got.Matched == 0 {
				t.Fatalf("empty answer: %s", b)
			}
			limit := mtOr(tc.q.Limit, 20)
			if len(got.Items) != min(limit, got.Matched) {
				t.Errorf("%d items of %d matched, limit %d", len(got.Items), got.Matched, limit)
			}
			sort := mtOr(tc.q.Sort, "p50")
			for k, c := range got.Items {
				if tc.ok != nil && !tc.ok(c) {
					t.Errorf("item %+v does not pass the filters", c)
				}
				if k > 0 && mtKey(sort, c.Prediction) > mtKey(sort, got.Items[k-1].Prediction) {
					t.Errorf("item %d (%v) above item %d (%v) by %s", k, mtKey(sort, c.Prediction), k-1, mtKey(sort, got.Items[k-1].Prediction), sort)
				}
			}
			if tc.q.Commission != nil {
				c := got.Items[0].Prediction
				if !mtApprox(c.Profit, c.GMV*(1-*tc.q.Commission)-c.Fee, 0.011) {
					t.Errorf("commission %v: profit %v of GMV %v and fee %v", *tc.q.Commission, c.Profit, c.GMV, c.Fee)
				}
			}
		})
	}

	// Filters nothing passes: 200, empty items, a note saying why.
	resp, b = mtDo(t, "GET", base+"/v1/brands/1/influencers?country=JP", nil)
	var empty matching.Ranking
	if resp.StatusCode != 200 || json.Unmarshal(b, &empty) != nil || empty.Matched != 0 || empty.Items == nil || len(empty.Items) != 0 || !strings.Contains(empty.Note, "filters") {
		t.Errorf("no match: %d %s", resp.StatusCode, b)
	}
	// A brand without products: ranked, every prediction 0, a note.
	resp, b = mtDo(t, "GET", base+"/v1/brands/4/influencers", nil)
	if resp.StatusCode != 200 || json.Unmarshal(b, &empty) != nil || !strings.Contains(empty.Note, "no products") {
		t.Errorf("brand without products: %d %s", resp.StatusCode, b)
	}
}

func mtPtr[T any](v T) *T { return &v }

func mtOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func mtApprox(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func mtKey(sort string, p matching.Prediction) float64 {
	switch sort {
	case "p10":
		return p.P10
	case "gmv":
		return p.GMV
	case "roi":
		if p.ROI == nil {
			return math.Inf(-1)
		}
		return *p.ROI
	}
	return p.P50
}

func TestMatching_BadRankQueriesAre400(t *testing.T) {
	base, _ := matchingServer(t, true)
	for name, tc := range map[string]struct {
		path string
		code int
		word string
	}{
		"limit not a number":  {"/v1/brands/1/influencers?limit=abc", 400, "limit"},
		"limit zero":          {"/v1/brands/1/influencers?limit=0", 400, "limit"},
		"limit negative":      {"/v1/brands/1/influencers?limit=-3", 400, "limit"},
		"limit over maximum":  {"/v1/brands/1/influencers?limit=201", 400, "limit"},
		"sort bogus":          {"/v1/brands/1/influencers?sort=bogus", 400, "sort"},
		"min_followers < 0":   {"/v1/brands/1/influencers?min_followers=-5", 400, "min_followers"},
		"min_followers text":  {"/v1/brands/1/influencers?min_followers=many", 400, "min_followers"},
		"max_fee negative":    {"/v1/brands/1/influencers?max_fee=-1", 400, "max_fee"},
		"max_fee NaN":         {"/v1/brands/1/influencers?max_fee=NaN", 400, "max_fee"},
		"max_fee Inf":         {"/v1/brands/1/influencers?max_fee=Inf", 400, "max_fee"},
		"commission 1":        {"/v1/brands/1/influencers?commission=1", 400, "commission"},
		"commission negative": {"/v1/brands/1/influencers?commission=-0.2", 400, "commission"},
		"malformed brand id":  {"/v1/brands/x/influencers", 400, "brand id"},
		"negative brand id":   {"/v1/brands/-1/influencers", 400, "brand id"},
		"query too long":      {"/v1/brands/1/influencers?country=" + strings.Repeat("a", 2000), 400, "query"},
		"unknown brand":       {"/v1/brands/424242/influencers", 404, "brand 424242"},
		"malformed infl. id":  {"/v1/influencers/abc", 400, "influencer id"},
		"unknown influencer":  {"/v1/influencers/424242", 404, "influencer 424242"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, b := mtDo(t, "GET", base+tc.path, nil)
			mtWantProblem(t, resp, b, tc.code, tc.word)
		})
	}
}

func TestMatching_InfluencerRoute(t *testing.T) {
	base, svc := matchingServer(t, true)
	resp, b := mtDo(t, "GET", base+"/v1/influencers/112", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"influencer_id", "handle", "followers", "country", "categories", "fee", "lives", "reach", "skill", "conversion",
		"authenticity", "inactive_viewer_share", "audience", "past_lives", "gmv_per_live", "as_of"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("profile lacks %s: %s", k, b)
		}
	}
	var got matching.Influencer
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// Influencer 112 (k = 12): 12 lives, an audience leaning to beauty.
	want, _ := svc.Model().Influencer(112)
	if got.ID != 112 || got.Handle != want.Handle || got.Lives != (112-100)%13 || len(got.PastLives) != got.Lives || got.Reach != want.Reach || got.Audience["beauty"] <= got.Audience["kitchenware"] {
		t.Errorf("profile %+v, model has %+v", got, want)
	}
	for k := 1; k < len(got.PastLives); k++ {
		if got.PastLives[k].Start.After(got.PastLives[k-1].Start) {
			t.Errorf("past lives not newest first: %v", got.PastLives)
		}
	}
	if asOf, _ := raw["as_of"].(string); asOf != matchingAsOf.Format(time.RFC3339) {
		t.Errorf("as_of %q", raw["as_of"])
	}
	// No lives: a profile all the same.
	if resp, b := mtDo(t, "GET", base+"/v1/influencers/100", nil); resp.StatusCode != 200 || !strings.Contains(string(b), `"lives":0`) {
		t.Errorf("influencer without lives: %d %s", resp.StatusCode, b)
	}
}

// mtPlan is the part of a plan answer the tests read.
type mtPlan struct {
	Objective string  `json:"objective"`
	Value     float64 `json:"value"`
	Lives     []struct {
		BrandID      uint64              `json:"brand_id"`
		InfluencerID uint64              `json:"influencer_id"`
		Fee          float64             `json:"fee"`
		Value        float64             `json:"value"`
		Prediction   matching.Prediction `json:"prediction"`
	} `json:"lives"`
	Brands []struct {
		BrandID   uint64   `json:"brand_id"`
		Lives     int      `json:"lives"`
		Fees      float64  `json:"fees"`
		GMV       float64  `json:"gmv"`
		Budget    *float64 `json:"budget"`
		Requested int      `json:"lives_requested"`
	} `json:"brands"`
	Note string `json:"note"`
}

func TestMatching_PlanRoute(t *testing.T) {
	base, _ := matchingServer(t, true)
	body := `{"objective":"gmv","brands":[{"brand_id":1,"budget":400,"lives":3},{"brand_id":2,"budget":250,"lives":2},{"brand_id":3,"lives":2}],
		"influencers":[{"influencer_id":112,"capacity":2},{"influencer_id":125,"capacity":1,"fee":90},{"influencer_id":130,"capacity":2},
		{"influencer_id":136,"capacity":1},{"influencer_id":139,"capacity":3,"fee":120},{"influencer_id":121,"capacity":1}]}`
	resp, b := mtDo(t, "POST", base+"/v1/plans", strings.NewReader(body))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var req matching.PlanRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	var res mtPlan
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Objective != "gmv" || len(res.Lives) < 3 || len(res.Brands) != 3 {
		t.Fatalf("plan %s", b)
	}
	caps, used := map[uint64]int{}, map[uint64]int{}
	for _, ri := range req.Influencers {
		caps[ri.InfluencerID] = ri.Capacity
	}
	fees, lives, gmv := map[uint64]float64{}, map[uint64]int{}, map[uint64]float64{}
	sum := 0.0
	for _, l := range res.Lives {
		if _, ok := caps[l.InfluencerID]; !ok {
			t.Errorf("live with influencer %d, not offered", l.InfluencerID)
		}
		used[l.InfluencerID]++
		fees[l.BrandID] += l.Fee
		lives[l.BrandID]++
		gmv[l.BrandID] += l.Prediction.GMV
		sum += l.Value
		if l.Prediction.Fee != l.Fee || !mtApprox(l.Value, l.Prediction.GMV, 0.011) {
			t.Errorf("live %+v: value and fee do not match the prediction", l)
		}
	}
	for id, n := range used {
		if n > caps[id] {
			t.Errorf("influencer %d runs %d lives, capacity %d", id, n, caps[id])
		}
	}
	for k, bt := range res.Brands {
		rb := req.Brands[slices.IndexFunc(req.Brands, func(p matching.PlanBrand) bool { return p.BrandID == bt.BrandID })]
		if bt.Lives != lives[bt.BrandID] || bt.Lives > rb.Lives || bt.Requested != rb.Lives || !mtApprox(bt.Fees, fees[bt.BrandID], 0.01) || !mtApprox(bt.GMV, gmv[bt.BrandID], 0.03) {
			t.Errorf("brand total %d %+v; lives sum to %d lives, %v fees, %v GMV", k, bt, lives[bt.BrandID], fees[bt.BrandID], gmv[bt.BrandID])
		}
		if rb.Budget != nil && (bt.Budget == nil || fees[bt.BrandID] > *rb.Budget) {
			t.Errorf("brand %d spends %v of a %v budget", bt.BrandID, fees[bt.BrandID], *rb.Budget)
		}
	}
	if !mtApprox(res.Value, sum, 0.05) {
		t.Errorf("plan value %v, lives sum to %v", res.Value, sum)
	}

	// Without influencers: every one with a fee, one live each.
	resp, b = mtDo(t, "POST", base+"/v1/plans", strings.NewReader(`{"objective":"profit","commission":0.2,"brands":[{"brand_id":3,"lives":5,"budget":1000}]}`))
	res = mtPlan{}
	if resp.StatusCode != 200 || json.Unmarshal(b, &res) != nil || len(res.Lives) == 0 || res.Objective != "profit" {
		t.Fatalf("profit plan: %d %s", resp.StatusCode, b)
	}
	seen, spent := map[uint64]bool{}, 0.0
	for _, l := range res.Lives {
		if seen[l.InfluencerID] || l.Fee <= 0 || l.Value <= 0 {
			t.Errorf("live %+v: want distinct influencers with a fee and a positive profit", l)
		}
		seen[l.InfluencerID] = true
		spent += l.Fee
	}
	if spent > 1000 || len(res.Lives) > 5 {
		t.Errorf("%d lives for %v EUR: over 5 lives or the 1000 budget", len(res.Lives), spent)
	}
}

func TestMatching_BadPlansAre400(t *testing.T) {
	base, _ := matchingServer(t, true)
	for name, tc := range map[string]struct {
		body string
		code int
		word string
	}{
		"empty body":       {``, 400, "the body is empty"},
		"malformed JSON":   {`{"brands":[{"brand_id":1,`, 400, "ends early"},
		"not an object":    {`[1,2]`, 400, "want a JSON object, got array"},
		"unknown field":    {`{"brands":[{"brand_id":1,"lives":1}],"budget":5}`, 400, "unknown field"},
		"unknown nested":   {`{"brands":[{"brand_id":1,"lives":1,"max_lives":2}]}`, 400, "unknown field"},
		"wrong type":       {`{"brands":[{"brand_id":1,"lives":1,"budget":"lots"}]}`, 400, "budget"},
		"trailing data":    {`{"brands":[{"brand_id":1,"lives":1}]} {"brands":[]}`, 400, "after"},
		"no brands":        {`{"brands":[]}`, 400, "no brands"},
		"negative budget":  {`{"brands":[{"brand_id":1,"budget":-10,"lives":1}]}`, 400, "negative budget"},
		"zero lives":       {`{"brands":[{"brand_id":1,"lives":0}]}`, 400, "lives 0"},
		"zero capacity":    {`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":0}]}`, 400, "capacity 0"},
		"negative fee":     {`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1,"fee":-5}]}`, 400, "negative fee"},
		"bad objective":    {`{"objective":"fun","brands":[{"brand_id":1,"lives":1}]}`, 400, "objective"},
		"commission 1":     {`{"commission":1,"brands":[{"brand_id":1,"lives":1}]}`, 400, "commission"},
		"duplicate brand":  {`{"brands":[{"brand_id":1,"lives":1},{"brand_id":1,"lives":1}]}`, 400, "duplicate"},
		"too many brands":  {`{"brands":[` + strings.Repeat(`{"brand_id":1,"lives":1},`, matching.DefaultMaxBrands) + `{"brand_id":2,"lives":1}]}`, 400, "at most"},
		"unknown brand":    {`{"brands":[{"brand_id":424242,"lives":1}]}`, 404, "brand 424242"},
		"unknown influenc": {`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":424242,"capacity":1}]}`, 404, "influencer 424242"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, b := mtDo(t, "POST", base+"/v1/plans", strings.NewReader(tc.body))
			mtWantProblem(t, resp, b, tc.code, tc.word)
		})
	}
}

// TestMatching_PlanBodyLimit: a well-formed body over the limit is 413, a
// large one under it is read.
func TestMatching_PlanBodyLimit(t *testing.T) {
	base, _ := matchingServer(t, true)
	big := func(size int) io.Reader {
		var b strings.Builder
		b.WriteString(`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1}],"objective":"gmv"`)
		b.WriteString(strings.Repeat(" ", size-b.Len()-1))
		b.WriteString("}")
		return strings.NewReader(b.String())
	}
	resp, b := mtDo(t, "POST", base+"/v1/plans", big(4<<20+64<<10))
	mtWantProblem(t, resp, b, http.StatusRequestEntityTooLarge, "at most")
	resp, b = mtDo(t, "POST", base+"/v1/plans", big(4<<20-64))
	if resp.StatusCode != 200 {
		t.Errorf("a body under the limit: %d %s", resp.StatusCode, b)
	}
}
