package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/vetrina/vetrina/matching"
)

// TestMatching_RankPages: following next_cursor pages through a brand's
// ranking gives the whole ranking once, in order, as the feed's cursors do;
// a forged cursor is a 400.
func TestMatching_RankPages(t *testing.T) {
	base, svc := matchingServer(t, true)
	all, err := svc.Model().Rank(context.Background(), 1, matching.Query{Limit: matching.MaxLimit, Sort: "p10"})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	cursor, pages := "", 0
	for {
		q := url.Values{"limit": {"7"}, "sort": {"p10"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		resp, b := mtDo(t, "GET", base+"/v1/brands/1/influencers?"+q.Encode(), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, b)
		}
		var page matching.Ranking
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range page.Items {
			got = append(got, c.InfluencerID)
		}
		if page.NextCursor == "" {
			break
		}
		if len(page.Items) != 7 || pages > 50 {
			t.Fatalf("page %d: %d items with a next cursor", pages, len(page.Items))
		}
		cursor = page.NextCursor
	}
	if len(got) != len(all.Items) || pages != (len(all.Items)+6)/7 {
		t.Fatalf("%d influencers in %d pages, want %d", len(got), pages, len(all.Items))
	}
	for k, c := range all.Items {
		if got[k] != c.InfluencerID {
			t.Fatalf("position %d: %d, want %d (pages %v)", k, got[k], c.InfluencerID, got)
		}
	}
	for _, bad := range []string{"zzz", "bzEwMDAw" /* o10000: past the 200 best */, "bi0x" /* n-1 */} {
		resp, b := mtDo(t, "GET", base+"/v1/brands/1/influencers?cursor="+bad, nil)
		mtWantProblem(t, resp, b, 400)
	}
}
