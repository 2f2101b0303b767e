package bench

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vetrina/vetrina/internal/broker"
	"github.com/vetrina/vetrina/internal/chserver"
)

// startClickHouse starts a managed ClickHouse with its data in dir (a
// temporary directory, removed by stop, when dir is empty).
func startClickHouse(ctx context.Context, dir string, log *slog.Logger) (srv *chserver.Server, stop func(), err error) {
	tmp := ""
	if dir == "" {
		if tmp, err = os.MkdirTemp("", "vetrina-bench-ch-"); err != nil {
			return nil, nil, err
		}
		dir = tmp
	}
	srv, err = chserver.Start(ctx, chserver.Config{Dir: dir, Logger: log})
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, nil, fmt.Errorf("start ClickHouse for the benchmark: %w", err)
	}
	return srv, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Stop(sctx)
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}, nil
}

// PeakRSS reads VmHWM of a process ("self" for this one) from /proc (0 if
// unavailable).
func PeakRSS(pid string) uint64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// startBroker runs the embedded broker as a child process (`vetrina broker`)
// when this binary is vetrina, so that the ingester's memory and CPU are
// measured apart from the broker's; otherwise (go test) in-process.
// It returns the broker's address, a function that stops it and its process
// id ("" in-process).
func startBroker(ctx context.Context, cfg Config, topics []string) (addr string, stop func(), pid string, err error) {
	if cfg.BrokerCommand == nil {
		b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Topics: topics, Partitions: cfg.Partitions})
		if err != nil {
			return "", nil, "", err
		}
		return b.Addr(), b.Close, "", nil
	}
	port, err := chserver.FreePort()
	if err != nil {
		return "", nil, "", err
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	cmd := cfg.BrokerCommand(addr, "bench.", cfg.Partitions)
	if err := cmd.Start(); err != nil {
		return "", nil, "", fmt.Errorf("start broker process: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, stop, strconv.Itoa(cmd.Process.Pid), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, "", fmt.Errorf("broker process did not listen on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CPUSeconds reads the user and system CPU time of a process ("self" for
// this one) from /proc (0 if unavailable, or for pid ""), in USER_HZ ticks
// of 1/100 s.
func CPUSeconds(pid string) float64 {
	if pid == "" {
		return 0
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	// After the name: state is field 3, utime 14 and stime 15.
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return float64(u+s) / 100
}
