package api

import (
	"net/url"
	"testing"
)

// FuzzQueryValues checks the feed's query reader against net/url's: the
// same first value of every parameter the feed reads, for any raw query.
func FuzzQueryValues(f *testing.F) {
	for _, q := range []string{
		"user_id=1&limit=5&cursor=bzI", "user_id=&user_id=5", "limit=1;limit=2&user_id=3", "user%5Fid=7",
		"user_id=%zz&user_id=8", "cursor=a+b%20c", "&&user_id=1&", "=x&user_id", "user_id=1=2", "limit",
		"user_id&&user_id=%", // a pair whose value does not unescape is no repeat
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var got [3]string
		dup := queryValues(raw, feedParams[:], got[:])
		want, _ := url.ParseQuery(raw) // as URL.Query: errors dropped, good pairs kept
		wantDup := -1
		for i, name := range feedParams {
			if got[i] != want.Get(name) {
				t.Fatalf("query %q: %s = %q, net/url says %q", raw, name, got[i], want.Get(name))
			}
			if len(want[name]) > 1 && wantDup < 0 {
				wantDup = i
			}
		}
		// The first name, in feedParams' order, given twice (0 of them
		// pairs by net/url's count).
		if (dup >= 0) != (wantDup >= 0) || dup >= 0 && len(want[feedParams[dup]]) < 2 {
			t.Fatalf("query %q: repeated parameter %d, net/url counts %v", raw, dup, want)
		}
	})
}
