package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/api/token"
	"github.com/vetrina/vetrina/matching"
)

// TestScopes_EveryRouteTimesEveryToken: each registered route answered for
// no token, a bad one, and tokens of each scope; a route added without a
// row here fails the test.
func TestScopes_EveryRouteTimesEveryToken(t *testing.T) {
	toks, plain := tokenDoc(t, map[string]token.Entry{
		"feed":    {Scopes: []string{"feed"}, Rate: token.MaxRate},
		"brand1":  {Scopes: []string{"brand:1"}, Rate: token.MaxRate},
		"brand2":  {Scopes: []string{"brand:2"}, Rate: token.MaxRate},
		"brand13": {Scopes: []string{"brand:1", "brand:3"}, Rate: token.MaxRate},
		"admin":   {Scopes: []string{"admin"}, Rate: token.MaxRate},
	})
	plain["none"], plain["bad"] = "", "vt_bad"
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Feed: trainedRanker(t), Matching: readyService(t), Auth: api.NewAuth(toks)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + srv.Addr()

	type want map[string]int // token → status
	public := want{"none": 200, "bad": 200, "feed": 200, "brand1": 200, "brand2": 200, "brand13": 200, "admin": 200}
	feedOnly := want{"none": 401, "bad": 401, "feed": 200, "brand1": 403, "brand2": 403, "brand13": 403, "admin": 200}
	cases := map[string][]struct {
		url, body string
		want      want
	}{
		"GET /healthz":                  {{"/healthz", "", public}},
		"GET /readyz":                   {{"/readyz", "", public}},
		"GET /metrics":                  {{"/metrics", "", public}},
		"GET /openapi.json":             {{"/openapi.json", "", public}},
		"GET /console/":                 {{"/console/", "", public}, {"/console/console.js", "", public}},
		"GET /v1/me":                    {{"/v1/me", "", want{"none": 401, "bad": 401, "feed": 200, "brand1": 200, "brand2": 200, "brand13": 200, "admin": 200}}},
		"GET /v1/feed":                  {{"/v1/feed?user_id=1", "", feedOnly}},
		"GET /v1/products/{id}/similar": {{"/v1/products/100/similar", "", feedOnly}},
		"GET /v1/brands/{id}/influencers": {
			{"/v1/brands/1/influencers", "", want{"none": 401, "bad": 401, "feed": 403, "brand1": 200, "brand2": 403, "brand13": 200, "admin": 200}},
			{"/v1/brands/3/influencers", "", want{"none": 401, "bad": 401, "feed": 403, "brand1": 403, "brand2": 403, "brand13": 200, "admin": 200}},
			// Another brand's id is refused before it is looked up: a brand
			// token cannot probe which brands exist.
			{"/v1/brands/9999/influencers", "", want{"none": 401, "bad": 401, "feed": 403, "brand1": 403, "brand2": 403, "brand13": 403, "admin": 404}},
		},
		"GET /v1/influencers/{id}":        {{"/v1/influencers/112", "", want{"none": 401, "bad": 401, "feed": 403, "brand1": 200, "brand2": 200, "brand13": 200, "admin": 200}}},
		"POST /v1/admin/profiles/refresh": {{"/v1/admin/profiles/refresh", "", want{"none": 401, "bad": 401, "feed": 403, "brand1": 403, "brand2": 403, "brand13": 403, "admin": 200}}},
		"POST /v1/plans": {
			{"/v1/plans", `{"brands":[{"brand_id":1,"budget":2000,"lives":1}]}`, want{"none": 401, "bad": 401, "feed": 403, "brand1": 200, "brand2": 403, "brand13": 200, "admin": 200}},
			{"/v1/plans", `{"brands":[{"brand_id":1,"budget":2000,"lives":1},{"brand_id":2,"budget":2000,"lives":1}]}`, want{"none": 401, "bad": 401, "feed": 403, "brand1": 403, "brand2": 403, "brand13": 403, "admin": 200}},
		},
	}
	for _, r := range srv.Routes() {
		rows, ok := cases[r.Pattern]
		if !ok {
			t.Errorf("route %s has no scope cases", r.Pattern)
			continue
		}
		method, _, _ := strings.Cut(r.Pattern, " ")
		for _, row := range rows {
			for name, code := range row.want {
				req, _ := http.NewRequest(method, base+row.url, strings.NewReader(row.body))
				if plain[name] != "" {
					req.Header.Set("Authorization", "Bearer "+plain[name])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != code {
					t.Errorf("%s %s as %s: %d, want %d: %.200s", method, row.url, name, resp.StatusCode, code, body)
				}
				if code >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s %s as %s: %d without a problem body", method, row.url, name, code)
				}
			}
		}
	}

	// A brand sees the influencer's lives it sponsored and organic ones,
	// not the lives other brands sponsored; admin sees them all.
	sponsors := func(token string) map[uint64]int {
		var p struct {
			PastLives []struct {
				SponsorBrandID uint64 `json:"sponsor_brand_id"`
			} `json:"past_lives"`
		}
		req, _ := http.NewRequest("GET", base+"/v1/influencers/112", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
		out := map[uint64]int{}
		for _, l := range p.PastLives {
			out[l.SponsorBrandID]++
		}
		return out
	}
	all, b1 := sponsors(plain["admin"]), sponsors(plain["brand1"])
	if all[1] == 0 || all[2] == 0 || all[3] == 0 || all[0] == 0 {
		t.Fatalf("admin should see organic lives and lives of brands 1, 2, 3: %v", all)
	}
	if b1[2] != 0 || b1[3] != 0 || b1[1] != all[1] || b1[0] != all[0] {
		t.Errorf("brand 1 sees sponsors %v (admin sees %v): want its own and organic lives only", b1, all)
	}
}

// readyService is a real matching service over the synthetic inputs, with
// its profiles computed.
func readyService(t testing.TB) *matching.Service {
	t.Helper()
	svc := matching.NewService(matching.ServiceConfig{Source: mtSource{matchingInputs()}, Now: func() time.Time { return matchingAsOf }})
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc
}
