package ranking

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// BenchmarkFeedSnapshot serves feeds from a snapshot as `vetrina bench
// ranking --dir D` keeps it (D/ranking.gob: 1M users, 100k products), for
// known users drawn at random, in process: the feed's own cost without
// HTTP, the load generator or the stream. It also reports the candidates
// per feed and agree@20, the share of the blend's top 20 over the whole
// catalog (history and out-of-stock products left out) that the served
// candidates' top 20 before the re-rank hold: what candidate generation
// loses.
//
//	VETRINA_SNAPSHOT=D/ranking.gob go test ./ranking -run '^$' -bench FeedSnapshot -benchtime 20000x
func BenchmarkFeedSnapshot(b *testing.B) {
	path := os.Getenv("VETRINA_SNAPSHOT")
	if path == "" {
		b.Skip("set VETRINA_SNAPSHOT to a ranking snapshot, e.g. the ranking.gob that `vetrina bench ranking --dir D` keeps in D")
	}
	m, err := LoadSnapshot(path)
	if err != nil {
		b.Fatal(err)
	}
	r := newTestRanker(m, time.Unix(m.Reference+60, 0))
	rng := rand.New(rand.NewPCG(1, 2))
	users := make([]uint64, 20000)
	for k := range users {
		users[k] = m.Data.Users[rng.IntN(m.Data.NumUsers())]
	}
	ctx := context.Background()
	feed := func(u uint64) {
		f, err := r.Feed(ctx, FeedRequest{UserID: u, Limit: 20})
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
	for _, u := range users { // the model's pages and the scratch warm
		feed(u)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		feed(users[i%len(users)])
	}
	b.StopTimer()
	cands, agree := candidateAgreement(r, m, users[:300])
	b.ReportMetric(cands, "candidates/feed")
	b.ReportMetric(agree, "agree@20")
}

// candidateAgreement returns the mean candidates per feed of users and
// the share of each one's whole-catalog top 20 among its 20 best-scored
// candidates.
func candidateAgreement(r *Ranker, m *Model, users []uint64) (cands, agree float64) {
	all := make([]float64, m.Data.NumItems())
	hits, n := 0, 0
	for _, id := range users {
		u, ok := m.Data.UserIndex(id)
		if !ok {
			continue
		}
		sc := r.scratch(m)
		usr, _ := r.userState(m, id, sc)
		onAir, _ := r.feedCandidates(m, usr, id, r.cfg.Now(), sc)
		cs := m.scoreCandidates(usr, onAir, sc)
		cands += float64(len(cs))
		served := newTopK(20)
		for _, c := range cs {
			served.offer(c.item, c.score)
		}
		in := map[int32]bool{}
		for _, i := range served.appendSorted(nil) {
			in[i] = true
		}
		r.release(sc)

		m.ScoreAll(u, all)
		items, _ := m.Data.UserRow(u)
		for _, i := range items {
			all[i] = -1e300
		}
		best := newTopK(20)
		for i, v := range all {
			if m.item[i].inStock {
				best.offer(int32(i), v)
			}
		}
		for _, i := range best.appendSorted(nil) {
			if in[i] {
				hits++
			}
			n++
		}
	}
	return cands / float64(len(users)), float64(hits) / float64(max(n, 1))
}
