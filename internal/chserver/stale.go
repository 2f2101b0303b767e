package chserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// owner is what chserver records in Dir/chserver.pid on each start: which
// process started which server.
type owner struct {
	parent, child int
}

func writeOwner(path string, parent, child int) error {
	return writeFileAtomic(path, fmt.Appendf(nil, "parent=%d\nchild=%d\n", parent, child))
}

func readOwner(path string) (owner, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return owner{}, false
	}
	var o owner
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch k {
		case "parent":
			o.parent = n
		case "child":
			o.child = n
		}
	}
	return o, o.parent > 0 && o.child > 0
}

// readStatusPID returns the pid in a ClickHouse status file ("PID: 123"),
// or 0.
func readStatusPID(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PID:"); ok {
			if pid, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return pid
			}
		}
	}
	return 0
}

// orphaned reports whether the server o.child outlived the chserver
// process o.parent that started it.
func orphaned(o owner) bool {
	if !processAlive(o.child) {
		return false
	}
	if ppid, ok := parentPID(o.child); ok {
		// Reparented children no longer point at their starter, which also
		// makes this immune to the starter's pid being reused.
		return ppid != o.parent
	}
	return !processAlive(o.parent)
}

// reclaimDir makes sure no server holds the data directory before a new
// one starts. ClickHouse keeps an flock on data/status while it runs and
// leaves the file behind when killed; an unlocked leftover is harmless
// (ClickHouse notes an unclean restart and recovers). A locked one held
// by an orphan of a crashed chserver parent for this Dir is terminated
// (it is normally already shutting down on the parent-death signal);
// any other holder is reported as ErrDirInUse.
func reclaimDir(ctx context.Context, l layout, log *slog.Logger) error {
	locked, err := statusLocked(l.StatusFile)
	if err != nil {
		return err
	}
	if !locked {
		if _, err := os.Stat(l.StatusFile); err == nil {
			log.Info("previous clickhouse run did not shut down cleanly; reusing its data", "status_file", l.StatusFile)
		}
		return nil
	}
	pid := readStatusPID(l.StatusFile)
	o, ok := readOwner(l.OwnerFile)
	if pid == 0 || !ok || o.child != pid || !orphaned(o) {
		return fmt.Errorf("chserver: %w: clickhouse pid %d holds %s (stop it first)", ErrDirInUse, pid, l.StatusFile)
	}

	log.Warn("stopping orphaned clickhouse left by a crashed parent", "pid", pid, "parent", o.parent, "dir", l.Dir)
	if err := signalPID(pid, sigTerm); err != nil {
		return err
	}
	if err := waitUnlocked(ctx, l.StatusFile, orphanTermWait); err == nil {
		return nil
	} else if ctx.Err() != nil {
		return fmt.Errorf("chserver: wait for orphaned clickhouse pid %d to exit: %w", pid, err)
	}
	log.Warn("orphaned clickhouse ignored SIGTERM; killing", "pid", pid, "waited", orphanTermWait)
	if err := signalPID(pid, sigKill); err != nil {
		return err
	}
	if err := waitUnlocked(ctx, l.StatusFile, killWait); err != nil {
		return fmt.Errorf("chserver: wait for orphaned clickhouse pid %d to die: %w", pid, err)
	}
	return nil
}

// waitUnlocked polls until nobody holds the status file lock.
func waitUnlocked(ctx context.Context, path string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		locked, err := statusLocked(path)
		if err != nil {
			return err
		}
		if !locked {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errors.New("status file still locked after " + timeout.String())
		case <-tick.C:
		}
	}
}
