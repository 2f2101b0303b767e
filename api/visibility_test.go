package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/api/token"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/store"
)

// hiddenLivesWorld is matchingInputs with influencer 200 (no rate card):
// three organic lives, one live sponsored by brand 1 (fee 150), and hidden
// lives sponsored by brand 2, whose figures are scaled by scale (0: none).
func hiddenLivesWorld(hidden int, scale float64) *matching.Inputs {
	in := matchingInputs()
	const id = 200
	in.Influencers = append(in.Influencers, event.Influencer{InfluencerID: id, Handle: "@inf200", Followers: 80000, Country: "IT",
		Categories: []string{"kitchenware", "beauty"}})
	for _, c := range []string{"beauty", "electronics", "kitchenware"} {
		in.Affinity = append(in.Affinity, store.AudienceCategory{InfluencerID: id, Category: c, Share: 30})
	}
	live := uint64(10000)
	add := func(sponsor uint64, fee float64, ageDays int, active uint64, ordersPer100 uint64) {
		start := matchingAsOf.Add(-time.Duration(ageDays) * 24 * time.Hour)
		in.Lives = append(in.Lives, event.Live{LiveID: live, InfluencerID: id, SponsorBrandID: sponsor, Fee: fee, StartedAt: start, EndedAt: start.Add(time.Hour)})
		in.Audiences = append(in.Audiences, store.LiveAudience{LiveID: live, InfluencerID: id, Start: start, Views: active * 3 / 2, Viewers: active / 2, ActiveViews: active, ActiveViewers: active * 2 / 5})
		in.Chats = append(in.Chats, store.LiveChats{LiveID: live, Chats: active / 10, Questions: active / 40, Chatters: active / 20, BurstChats: active / 200})
		o := active * ordersPer100 / 100
		in.LiveProducts = append(in.LiveProducts, store.LiveProductStats{LiveID: live, ProductID: 1, ActiveViews: active / 2, Orders: o, Units: o, GMV: float64(o) * 30})
		live++
	}
	add(0, 0, 2, 3000, 2)
	add(0, 0, 9, 2800, 3)
	add(0, 0, 50, 2500, 2)
	add(1, 150, 40, 3200, 4)
	for k := range hidden {
		// Another brand's lives: as many viewers as brand 1's would have,
		// their sales and fees scaled.
		add(2, 100*scale+float64(k), 3+4*k, uint64(3000*scale), uint64(1+3*scale))
	}
	return in
}

// figures are the influencer profile's figures of lives, which a brand
// token must see computed over organic lives and its own lives only.
var figures = []string{"fee", "lives", "sponsored_lives", "viewers_per_live", "chats_per_viewer", "questions_per_viewer", "conversion",
	"order_value", "gmv_per_live", "sponsored_gmv_per_live", "organic_gmv_per_live", "trend", "inactive_viewer_share", "burst_chat_share",
	"authenticity", "past_lives"}

// TestVisibility_BrandTokenLearnsNothingFromOtherBrandsLives: with one, two
// and many lives of brand 2, brand 1's token sees the same figures of
// influencer 200 whatever those lives sold, were paid or drew (and the same
// as without them), in the profile, the ranking and a plan; the admin sees
// them.
func TestVisibility_BrandTokenLearnsNothingFromOtherBrandsLives(t *testing.T) {
	toks, plain := tokenDoc(t, map[string]token.Entry{"admin": {Scopes: []string{"admin"}}, "brand1": {Scopes: []string{"brand:1"}}})
	auth := api.NewAuth(toks)
	type seen struct {
		profile  map[string]any
		rankFee  float64
		rankLive int
		planFee  float64
	}
	look := func(t *testing.T, in *matching.Inputs, tok string) seen {
		t.Helper()
		m, err := matching.Build(in)
		if err != nil {
			t.Fatal(err)
		}
		base := runServer(t, api.Config{Addr: "127.0.0.1:0", Matching: staticModel{m}, Auth: auth})
		var s seen
		resp, b := authGet(t, base+"/v1/influencers/200", tok)
		if resp.StatusCode != 200 {
			t.Fatalf("profile: %d %s", resp.StatusCode, b)
		}
		conforms(t, "GET", "/v1/influencers/{id}", resp, b)
		var p map[string]any
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		s.profile = map[string]any{}
		for _, f := range figures {
			s.profile[f] = p[f]
		}
		resp, b = authGet(t, base+"/v1/brands/1/influencers?limit=200", tok)
		if resp.StatusCode != 200 {
			t.Fatalf("ranking: %d %s", resp.StatusCode, b)
		}
		conforms(t, "GET", "/v1/brands/{id}/influencers", resp, b)
		var rk matching.Ranking
		_ = json.Unmarshal(b, &rk)
		for _, c := range rk.Items {
			if c.InfluencerID == 200 {
				s.rankFee, s.rankLive = c.Prediction.Fee, c.Lives
			}
		}
		req, _ := http.NewRequest("POST", base+"/v1/plans", strings.NewReader(`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":200,"capacity":1}]}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("plan: %d %s", resp.StatusCode, b)
		}
		conforms(t, "POST", "/v1/plans", resp, b)
		var plan mtPlan
		_ = json.Unmarshal(b, &plan)
		for _, l := range plan.Lives {
			s.planFee = l.Fee
		}
		return s
	}
	none := look(t, hiddenLivesWorld(0, 0), plain["brand1"])
	if none.profile["lives"] != 4.0 || none.profile["sponsored_lives"] != 1.0 || none.profile["fee"] != 150.0 || none.rankFee != 150 || none.rankLive != 4 || none.planFee != 150 {
		t.Fatalf("brand 1 without hidden lives: %v, ranking fee %v lives %d, plan fee %v", none.profile, none.rankFee, none.rankLive, none.planFee)
	}
	for _, hidden := range []int{1, 2, 12} {
		t.Run(fmt.Sprint(hidden, " hidden"), func(t *testing.T) {
			a := look(t, hiddenLivesWorld(hidden, 1), plain["brand1"])
			b := look(t, hiddenLivesWorld(hidden, 7), plain["brand1"])
			if !reflect.DeepEqual(a, b) {
				t.Errorf("brand 1 learns of brand 2's lives: with them at one scale it sees\n%v\nat another\n%v", a, b)
			}
			// The same as if they had not happened (authenticity is
			// measured against every influencer's median, which they move).
			a.profile["authenticity"], none.profile["authenticity"] = nil, nil
			if !reflect.DeepEqual(a, none) {
				t.Errorf("brand 1 sees\n%v\nwith %d hidden lives, and\n%v\nwithout them", a, hidden, none)
			}
			// Not vacuous: the admin sees them.
			adminA := look(t, hiddenLivesWorld(hidden, 1), plain["admin"])
			adminB := look(t, hiddenLivesWorld(hidden, 7), plain["admin"])
			if adminA.profile["sponsored_lives"] != float64(1+hidden) || reflect.DeepEqual(adminA.profile, adminB.profile) || adminA.rankLive != 4+hidden {
				t.Errorf("admin: %v and %v", adminA, adminB)
			}
		})
	}
}

func authGet(t *testing.T, url, tok string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
