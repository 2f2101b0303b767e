package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/api/token"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/ranking"
	"github.com/vetrina/vetrina/store"
)

// edgeInputs is matchingInputs with the edge cases of a live system:
// influencer 1 in the catalog with no lives, no categories and no fee,
// influencer 300 seen in lives before its catalog message (a bare
// profile), and brand 4 without products.
func edgeInputs() *matching.Inputs {
	in := matchingInputs()
	in.Influencers = append(in.Influencers, event.Influencer{InfluencerID: 1, Handle: "@new", Followers: 0, Country: "", Categories: []string{}})
	start := matchingAsOf.Add(-48 * time.Hour)
	in.Audiences = append(in.Audiences, store.LiveAudience{LiveID: 9000, InfluencerID: 300, Start: start, Views: 10, Viewers: 5, ActiveViews: 8, ActiveViewers: 2})
	return in
}

// TestOpenAPI_EdgeCasesConform: the answers of every route in the edge
// cases (no lives, no purchases, a bare profile, unknown categories, empty
// rankings and plans, an empty platform, untrained feeds, every problem)
// match api/openapi.json, arrays are never null, for an admin and a brand
// token.
func TestOpenAPI_EdgeCasesConform(t *testing.T) {
	toks, plain := tokenDoc(t, map[string]token.Entry{"admin": {Scopes: []string{"admin"}, Rate: 1e5}, "brand1": {Scopes: []string{"brand:1"}, Rate: 1e5},
		"feed": {Scopes: []string{"feed"}, Rate: 1e5}, "slow": {Scopes: []string{"brand:1", "feed"}, Rate: 0.001}})
	noPurchases := edgeInputs()
	noPurchases.LiveProducts, noPurchases.Shop = nil, nil
	worlds := map[string]*matching.Inputs{"edge": edgeInputs(), "no purchases": noPurchases, "empty": {AsOf: matchingAsOf}}
	type call struct {
		method, path, url, body string
		codes                   []int // the answers this world may give
	}
	calls := []call{
		{"GET", "/healthz", "/healthz", "", []int{200}},
		{"GET", "/readyz", "/readyz", "", []int{503}},
		{"GET", "/openapi.json", "/openapi.json", "", []int{200}},
		{"GET", "/v1/me", "/v1/me", "", []int{200}},
		{"GET", "/v1/feed", "/v1/feed?user_id=1", "", []int{200, 403}},
		{"GET", "/v1/feed", "/v1/feed?user_id=1&limit=0", "", []int{400, 403}},
		{"GET", "/v1/feed", "/v1/feed?user_id=1&" + strings.Repeat("x", 1100), "", []int{400}},
		{"GET", "/v1/products/{id}/similar", "/v1/products/1/similar", "", []int{200, 403, 404}},
		{"GET", "/v1/influencers/{id}", "/v1/influencers/1", "", []int{200, 404}},
		{"GET", "/v1/influencers/{id}", "/v1/influencers/100", "", []int{200, 404}},
		{"GET", "/v1/influencers/{id}", "/v1/influencers/300", "", []int{200, 404}},
		{"GET", "/v1/influencers/{id}", "/v1/influencers/112", "", []int{200, 404}},
		{"GET", "/v1/influencers/{id}", "/v1/influencers/x", "", []int{400}},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?limit=200", "", []int{200, 404}},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?category=nothing", "", []int{200, 404}},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?sort=roi&country=XX", "", []int{200, 404}},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?sort=roi&limit=200&max_fee=100", "", []int{200, 404}},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/4/influencers", "", []int{200, 403, 404}},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?cursor=bogus", "", []int{400}},
		{"POST", "/v1/plans", "/v1/plans", `{"brands":[{"brand_id":1,"lives":3}]}`, []int{200, 404}},
		{"POST", "/v1/plans", "/v1/plans", `{"objective":"profit","brands":[{"brand_id":1,"budget":0,"lives":3}]}`, []int{200, 404}},
		{"POST", "/v1/plans", "/v1/plans", `{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":1,"capacity":1},{"influencer_id":300,"capacity":2,"fee":0}]}`, []int{200, 404}},
		{"POST", "/v1/plans", "/v1/plans", `{"brands":[{"brand_id":4,"lives":2}]}`, []int{200, 403, 404}},
		{"POST", "/v1/plans", "/v1/plans", `{"brands":[{"brand_id":1,"lives":0}]}`, []int{400}},
		{"POST", "/v1/admin/profiles/refresh", "/v1/admin/profiles/refresh", "", []int{200, 403, 503}},
	}
	for name, in := range worlds {
		t.Run(name, func(t *testing.T) {
			m, err := matching.Build(in)
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			base := runServer(t, api.Config{Addr: "127.0.0.1:0", Feed: ranking.New(ranking.Config{}), Matching: failingRefresh{staticModel{m}},
				Auth: api.NewAuth(toks), Registerer: reg, Gatherer: reg,
				Checks: map[string]api.Check{"clickhouse": func(context.Context) error { return errors.New("down") }}})
			for _, who := range []string{"admin", "brand1", "feed", "", "bad"} {
				for _, c := range calls {
					tok := plain[who]
					if who == "bad" {
						tok = "vt_bad"
					}
					req, _ := http.NewRequest(c.method, base+c.url, strings.NewReader(c.body))
					if tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					guarded := c.path != "/healthz" && c.path != "/readyz" && c.path != "/openapi.json" && resp.StatusCode != 400
					switch {
					case guarded && (who == "" || who == "bad"):
						if resp.StatusCode != 401 {
							t.Errorf("%s %s without a valid token: %d", c.method, c.url, resp.StatusCode)
						}
					case resp.StatusCode == 403 && (who == "feed" || who == "brand1"):
					case !containsInt(c.codes, resp.StatusCode):
						t.Errorf("%s %s as %s: %d, want one of %v: %s", c.method, c.url, who, resp.StatusCode, c.codes, b)
					}
					if c.path != "/openapi.json" || resp.StatusCode != 200 {
						complete(t, resp, b)
						conforms(t, c.method, c.path, resp, b)
					}
				}
			}
			// The rate limit's 429.
			for range 3 {
				resp, b := authGet(t, base+"/v1/influencers/112", plain["slow"])
				if resp.StatusCode == 429 {
					conforms(t, "GET", "/v1/influencers/{id}", resp, b)
				}
			}
		})
	}
}

// failingRefresh is a Matcher whose refresh fails: the refresh route's 503.
type failingRefresh struct{ staticModel }

func (failingRefresh) Refresh(context.Context) error { return errors.New("clickhouse down") }

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
