package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/store"
)

// brokerTarget is a preloaded broker the end-to-end phase reads from, and
// the database it lands in.
type brokerTarget struct {
	name, about string
	addr        string
	db          string
	pid         string // the broker's process id, "" in-process
}

// endToEnd measures one phase: the ingester from t into ClickHouse at chAddr, from
// the moment it owns its partitions until every event has landed, exactly
// once. It then waits for ClickHouse's merges to settle, so that the next
// phase starts on a quiet server.
func endToEnd(ctx context.Context, cfg Config, t brokerTarget, group, chAddr, chPID string, topics ingest.Topics, progress func(string, int, int)) (EndToEnd, error) {
	res := EndToEnd{Broker: t.name, About: t.about}
	e2e, err := openDB(ctx, chAddr, t.db, cfg.Compression)
	if err != nil {
		return res, err
	}
	defer e2e.Close()
	want := uint64(cfg.Events)
	ing, err := startIngester(ctx, cfg, t.name, group, t.addr, chAddr, t.db, topics)
	if err != nil {
		return res, err
	}
	defer ing.stop()
	// The clock starts once the ingester owns its partitions: joining a
	// consumer group takes a few seconds (the broker's initial rebalance
	// delay), which is not throughput.
	for ing.ready() != nil && ctx.Err() == nil {
		if err := ing.exited(); err != nil {
			return res, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	step := "end to end from " + t.name + ": ingest into ClickHouse (rows)"
	brokerCPU, chCPU, ingCPU, machine := CPUSeconds(t.pid), CPUSeconds(chPID), ing.cpu(), machineCPU()
	start := time.Now()
	var got uint64
	for got < want {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if err := ing.exited(); err != nil {
			return res, err
		}
		time.Sleep(20 * time.Millisecond)
		// The clock stops when ClickHouse has acknowledged the inserts of
		// every event: the ingester's own count of the rows it inserted
		// into the event tables and dead_letters. Asking ClickHouse
		// instead cost it about 2 ms of CPU per query (even
		// system.parts, 18.16), a tenth of a core at this poll's rate,
		// taken from the ingest it measured. The tables are counted once
		// the clock stops (below), so an ingester that counted wrong
		// fails the run.
		got = ing.landed()
		progress(step, int(min(got, want)), int(want))
	}
	res.Seconds = time.Since(start).Seconds()
	res.Steal = stealShare(machine, machineCPU())
	res.IngesterCPUSeconds = ing.cpu() - ingCPU
	res.BrokerCPUSeconds = CPUSeconds(t.pid) - brokerCPU
	res.ClickHouseCPUSeconds = CPUSeconds(chPID) - chCPU
	res.IngesterPeakBytes = ing.peakRSS()
	res.Inserts = ing.inserts()
	ing.stop()
	if dl, err := e2e.RowCount(ctx, store.TableDeadLetters); err != nil || dl > 0 {
		return res, fmt.Errorf("end to end from %s: %d generated events were dead-lettered (%v)", t.name, dl, err)
	}
	// Exactly once, as an analyst checks it (after the clock stopped).
	var total uint64
	for _, tb := range []store.Table{store.TableViews, store.TableChats, store.TablePurchases} {
		n, u, err := e2e.Count(ctx, tb)
		if err != nil {
			return res, err
		}
		if n != u {
			return res, fmt.Errorf("end to end from %s: %s has %d rows but %d distinct event ids", t.name, tb.Name(), n, u)
		}
		total += n
	}
	if total != want {
		return res, fmt.Errorf("end to end from %s: %d events landed, want %d", t.name, total, want)
	}
	res.PerSec = float64(want) / res.Seconds
	if t.pid != "" {
		res.BrokerPeakBytes = PeakRSS(t.pid)
	}
	if err := settle(ctx, e2e); err != nil {
		return res, err
	}
	return res, nil
}

// teeWriter writes every message to each of its writers, at once.
type teeWriter []*kafka.Writer

func (t teeWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	errs := make([]error, len(t))
	var wg sync.WaitGroup
	for i, w := range t {
		wg.Go(func() {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				errs[i] = fmt.Errorf("write to %s: %w", w.Addr, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (t teeWriter) Close() error {
	var errs []error
	for _, w := range t {
		if err := w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close the writer to %s: %w", w.Addr, err))
		}
	}
	return errors.Join(errs...)
}

// ingester is the end-to-end phase's ingester: a child `vetrina ingest`
// or one in this process.
type ingester struct {
	ready   func() error
	exited  func() error // non-nil once a child has exited on its own
	peakRSS func() uint64
	cpu     func() float64 // CPU seconds so far
	inserts func() uint64  // INSERT statements so far, from its metrics (0 if unknown)
	// landed is the rows it inserted into the event tables and
	// dead_letters so far, from its metrics (0 if unknown).
	landed func() uint64
	stop   func()
}

// startIngester starts the ingester of the end-to-end phase, its peak RSS
// counter reset.
func startIngester(ctx context.Context, cfg Config, broker, group, brokerAddr, chAddr, db string, topics ingest.Topics) (*ingester, error) {
	if cfg.IngestCommand == nil {
		e2e, err := store.Open(store.Config{Addr: chAddr, Database: db, Compression: cfg.Compression})
		if err != nil {
			return nil, err
		}
		reg := prometheus.NewRegistry()
		in, err := ingest.New(ingest.Config{Brokers: []string{brokerAddr}, GroupID: group, Topics: topics, BatchRows: cfg.BatchRows, Linger: cfg.Linger,
			MaxBufferedBytes: cfg.MaxBufferedBytes, Logger: cfg.Logger}, e2e, ingest.NewMetrics(reg))
		if err != nil {
			e2e.Close()
			return nil, err
		}
		// Measure the ingester's memory alone: drop the preload's garbage
		// and reset the kernel's peak RSS counter (Linux: clear_refs 5).
		runtime.GC()
		debug.FreeOSMemory()
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		ictx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = in.Run(ictx) }()
		profiling := cfg.CPUProfile != nil && broker == "kfake" && pprof.StartCPUProfile(cfg.CPUProfile) == nil
		var once sync.Once
		return &ingester{ready: in.Ready, exited: func() error { return nil }, peakRSS: func() uint64 { return PeakRSS("self") }, cpu: func() float64 { return CPUSeconds("self") },
			inserts: func() uint64 {
				return gatherSum(reg, insertsMetric, func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) })
			},
			landed: func() uint64 {
				return gatherSum(reg, insertedMetric, func(m *dto.Metric) float64 {
					for _, l := range m.GetLabel() {
						if l.GetName() == "table" && landedTables[l.GetValue()] {
							return m.GetCounter().GetValue()
						}
					}
					return 0
				})
			},
			stop: func() {
				once.Do(func() {
					if profiling {
						pprof.StopCPUProfile()
					}
					cancel()
					wg.Wait()
					e2e.Close()
				})
			}}, nil
	}
	port, err := chserver.FreePort()
	if err != nil {
		return nil, err
	}
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := cfg.IngestCommand(broker, "ingest", "--brokers", brokerAddr, "--clickhouse", chAddr, "--database", db,
		"--clickhouse-compression", cfg.Compression, "--group", group, "--topic-prefix", "bench.",
		"--batch-rows", strconv.Itoa(cfg.BatchRows), "--linger", cfg.Linger.String(),
		"--max-buffered-mib", strconv.Itoa(max(1, cfg.MaxBufferedBytes>>20)), "--http", httpAddr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start vetrina ingest: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var exitErr error
	stopped := false
	pid := strconv.Itoa(cmd.Process.Pid)
	return &ingester{
		ready: func() error {
			resp, err := http.Get("http://" + httpAddr + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("ingester not ready: %s", resp.Status)
			}
			return nil
		},
		exited: func() error {
			select {
			case err := <-done:
				exitErr = fmt.Errorf("vetrina ingest exited: %v", err)
				stopped = true
			default:
			}
			return exitErr
		},
		peakRSS: func() uint64 { return PeakRSS(pid) },
		cpu:     func() float64 { return CPUSeconds(pid) },
		inserts: func() uint64 { return scrapeCount("http://"+httpAddr+"/metrics", insertsMetric) },
		landed:  func() uint64 { return scrapeLanded("http://" + httpAddr + "/metrics?name[]=" + insertedMetric) },
		stop: func() {
			if stopped {
				return
			}
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done
		},
	}, nil
}

// insertsMetric is the ingester's histogram of rows per insert: its count
// is the INSERT statements it made.
const insertsMetric = "vetrina_ingest_batch_rows"

// insertedMetric is the ingester's counter of rows inserted, by table;
// landedTables are the tables every event ends in, as a row or a dead
// letter.
const insertedMetric = "vetrina_ingest_inserted_rows_total"

var landedTables = map[string]bool{
	store.TableViews.Name(): true, store.TableChats.Name(): true, store.TablePurchases.Name(): true, store.TableDeadLetters.Name(): true,
}

// gatherSum sums value over the metrics of family name in reg (0 if it
// cannot be gathered).
func gatherSum(reg *prometheus.Registry, name string, value func(*dto.Metric) float64) uint64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += value(m)
			}
		}
	}
	return uint64(n)
}

// scrapeLanded sums insertedMetric over landedTables on a Prometheus text
// endpoint (0 if unavailable).
func scrapeLanded(url string) uint64 {
	return scrapeSum(url, func(line string) (string, bool) {
		rest, ok := strings.CutPrefix(line, insertedMetric+"{")
		if !ok {
			return "", false
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			return "", false
		}
		_, table, ok := strings.Cut(labels, `table="`)
		table, _, _ = strings.Cut(table, `"`)
		return value, ok && landedTables[table]
	})
}

// scrapeCount sums the _count samples of histogram name on a Prometheus
// text endpoint (0 if unavailable).
func scrapeCount(url, name string) uint64 {
	return scrapeSum(url, func(line string) (string, bool) {
		if !strings.HasPrefix(line, name+"_count") {
			return "", false
		}
		i := strings.LastIndexByte(line, ' ')
		return line[i+1:], i >= 0
	})
}

// scrapeSum sums the samples of a Prometheus text endpoint whose lines
// sample selects (returning the value's text), 0 if it is unavailable.
func scrapeSum(url string, sample func(line string) (string, bool)) uint64 {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var n float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := sample(sc.Text()); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				n += f
			}
		}
	}
	return uint64(n)
}
