package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// LoadConfig is an open-loop feed load, what `vetrina bench load` runs in
// a process of its own: request i is due at start + i/Rate whatever
// happened to the others, and its latency counts from when it was due, so
// a slow period is sampled as often as a fast one (no coordinated
// omission).
type LoadConfig struct {
	// URL is the server's base, e.g. http://127.0.0.1:8080.
	URL string
	// Token is a feed-scope API token.
	Token string
	// Rate is requests per second; Duration the measured load, after
	// Warmup of load that is not measured (connections open, sessions
	// build up).
	Rate             float64
	Duration, Warmup time.Duration
	// Users are the known user ids 1..Users. UnknownShare of the requests
	// ask for users the model does not know, SessionShare for users who
	// just acted in the stream (when Brokers and Topics are set: the load
	// follows those event topics from their end to learn who).
	Users                      int
	UnknownShare, SessionShare float64
	Brokers, Topics            []string
	Seed                       uint64
	// Workers are the kept-alive connections (default 512), each with a
	// goroutine reading its answers: enough that a slow period does not
	// leave requests waiting for a free one.
	Workers int
}

// LoadResult is what a load measured. Latencies are in microseconds,
// sorted, one per request sent.
type LoadResult struct {
	Rate      float64 `json:"rate"`
	Achieved  float64 `json:"achieved_rate"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
	Latencies []int64 `json:"latencies_us"`
	// SecondP99 is the p99 of each second of the load, in microseconds
	// (requests by due time): a steady tail or a burst.
	SecondP99 []int64 `json:"second_p99_us"`
	// SessionPicks are requests for users the stream had just seen.
	SessionPicks int `json:"session_picks"`
	// cpuSeconds is the generator's CPU time, when it ran as a child
	// process (warm-up included).
	cpuSeconds float64
}

// Quantile returns the q-quantile of the latencies (0 with none).
func (r LoadResult) Quantile(q float64) time.Duration {
	return quantile(r.Latencies, q)
}

func quantile(sorted []int64, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return time.Duration(sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]) * time.Microsecond
}

// Load runs the load and returns what it measured.
func Load(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if cfg.Rate <= 0 || cfg.Duration <= 0 || cfg.Users <= 0 || cfg.URL == "" {
		return LoadResult{}, fmt.Errorf("bench load: rate %v, duration %v, users %d, url %q: all are required", cfg.Rate, cfg.Duration, cfg.Users, cfg.URL)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 512
	}
	rec := &recentUsers{}
	if len(cfg.Brokers) > 0 && len(cfg.Topics) > 0 {
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		if err := rec.follow(fctx, cfg.Brokers, cfg.Topics); err != nil {
			return LoadResult{}, err
		}
	}
	// One connection per worker, kept between the warm-up and the load.
	getters := make([]*getter, cfg.Workers)
	for w := range getters {
		g, err := newGetter(cfg.URL, 10*time.Second)
		if err != nil {
			return LoadResult{}, err
		}
		getters[w] = g
	}
	defer func() {
		for _, g := range getters {
			if g.conn != nil {
				g.conn.Close()
			}
		}
	}()
	if cfg.Warmup > 0 {
		if _, err := run(ctx, getters, cfg, cfg.Warmup, rec); err != nil {
			return LoadResult{}, err
		}
	}
	return run(ctx, getters, cfg, cfg.Duration, rec)
}

// run sends cfg.Rate requests per second for d. One goroutine, on a
// thread of its own, sleeps until each request is due (pacer), picks its
// user and writes it on the connection of a worker that is free; the
// worker reads the answer and times it from the due time. With every
// worker waiting for an answer, the next request waits for one (and is
// late by that much, which its latency counts).
func run(ctx context.Context, getters []*getter, cfg LoadConfig, d time.Duration, rec *recentUsers) (LoadResult, error) {
	total := int(cfg.Rate * d.Seconds())
	lat := make([]int64, total)
	var errs, picks atomic.Int64
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	auth := "Bearer " + cfg.Token
	type job struct {
		i   int
		due time.Time
		err error // of sending it
	}
	type worker struct {
		g    *getter
		jobs chan job
	}
	free := make(chan *worker, len(getters))
	workers := make([]*worker, len(getters))
	var wg sync.WaitGroup
	for k, g := range getters {
		w := &worker{g: g, jobs: make(chan job, 1)}
		workers[k] = w
		free <- w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range w.jobs {
				err := j.err
				if err == nil {
					err = w.g.receive()
				}
				if err != nil {
					errs.Add(1)
				}
				lat[j.i] = time.Since(j.due).Microseconds()
				free <- w
			}
		}()
	}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // for good: the pacer changes the thread
		p := newPacer()
		rng := rand.New(rand.NewPCG(cfg.Seed, 0))
		var target []byte
		for i := 0; i < total && ctx.Err() == nil; i++ {
			due := start.Add(time.Duration(i) * interval)
			p.sleepUntil(due)
			user := uint64(1 + rng.IntN(cfg.Users))
			switch q := rng.Float64(); {
			case q < cfg.UnknownShare:
				user = uint64(cfg.Users + 1 + rng.IntN(1_000_000))
			case q < cfg.UnknownShare+cfg.SessionShare:
				if u, ok := rec.pick(rng); ok {
					user = u
					picks.Add(1)
				}
			}
			target = strconv.AppendUint(append(target[:0], "/v1/feed?user_id="...), user, 10)
			target = append(target, "&limit=20"...)
			var w *worker
			select {
			case w = <-free:
			case <-ctx.Done():
				return
			}
			w.jobs <- job{i: i, due: due, err: w.g.send(ctx, target, auth)}
		}
	}()
	<-done
	for _, w := range workers { // each ends once its answer is in
		close(w.jobs)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return LoadResult{}, err
	}
	elapsed := time.Since(start).Seconds()
	res := LoadResult{Rate: cfg.Rate, Achieved: float64(total) / elapsed, Requests: total, Errors: int(errs.Load()),
		Seconds: elapsed, SessionPicks: int(picks.Load())}
	// The p99 of each second, by due time, before the whole is sorted.
	per := max(1, int(cfg.Rate))
	for i := 0; i < len(lat); i += per {
		sec := slices.Clone(lat[i:min(len(lat), i+per)])
		slices.Sort(sec)
		res.SecondP99 = append(res.SecondP99, sec[int(0.99*float64(len(sec)-1))])
	}
	slices.Sort(lat)
	res.Latencies = lat
	return res, nil
}

// recentUsers remembers the users of the latest events in the stream, so
// the load can ask for feeds that the stream just changed.
type recentUsers struct {
	mu   sync.Mutex
	ring [4096]uint64
	n    int
}

func (r *recentUsers) add(u uint64) {
	r.mu.Lock()
	r.ring[r.n%len(r.ring)] = u
	r.n++
	r.mu.Unlock()
}

func (r *recentUsers) pick(rng *rand.Rand) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0, false
	}
	k := min(r.n, len(r.ring))
	return r.ring[(r.n-1-rng.IntN(min(k, 256)))%len(r.ring)], true
}

// follow reads the topics from their end until ctx ends, remembering each
// message's user (its key, as producers key events by user_id).
func (r *recentUsers) follow(ctx context.Context, brokers, topics []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	if err != nil {
		return fmt.Errorf("bench load: follow %v: %w", topics, err)
	}
	go func() {
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(rec *kgo.Record) {
				if u, err := strconv.ParseUint(string(rec.Key), 10, 64); err == nil {
					r.add(u)
				}
			})
		}
	}()
	return nil
}
