package ranking

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestFeedAppendJSON checks that the hand-written encoder writes byte for
// byte what encoding/json writes, on feeds with awkward strings and
// numbers.
func TestFeedAppendJSON(t *testing.T) {
	strs := []string{"", "plain", `quo"te and back\slash`, "tab\tnew\nline\r", "ctrl\x00\x01\x1f", "<b>&amp;</b>",
		"ünïcødé ✓ 🛍", "bad \xff\xfe utf8", "line\u2028sep\u2029", "é\xc3"}
	nums := []float64{0, 1, -1, 0.5, 12.345, 1e-7, 3e-9, 1e21, 2.5e22, -4e-10, 123456789.125, 0.001}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return strs[rng.IntN(len(strs))] }
	for n := range 300 {
		f := &Feed{UserID: rng.Uint64(), Personalized: n%2 == 0, NextCursor: pick(), Model: pick(), Items: []FeedItem{}}
		for range rng.IntN(4) {
			f.Items = append(f.Items, FeedItem{ProductID: rng.Uint64N(1000), Title: pick(), Category: pick(), BrandID: rng.Uint64N(3),
				Price: nums[rng.IntN(len(nums))], Score: nums[rng.IntN(len(nums))], Reason: pick()})
		}
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON differs from encoding/json:\n got %s\nwant %s", got, want)
		}
	}
}
