package token

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ReloadEvery is how often Watch checks a token file for changes.
const ReloadEvery = 5 * time.Second

// Watch keeps a loaded token file current until ctx ends: on SIGHUP, and
// when its size or modification time differs from last (checked every
// ReloadEvery), it reads the file again and hands the new set to apply. A
// file that stops parsing is logged and apply is not called, so the tokens
// in force stay.
func Watch(ctx context.Context, log *slog.Logger, path string, last os.FileInfo, apply func(*Set)) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(ReloadEvery)
	defer tick.Stop()
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-hup:
			forced = true
		case <-tick.C:
		}
		info, err := os.Stat(path)
		if err != nil {
			log.Error("api: token file unreadable; the loaded tokens stay in force", "file", path, "err", err)
			continue
		}
		if !forced && info.ModTime().Equal(last.ModTime()) && info.Size() == last.Size() {
			continue
		}
		s, info, err := Read(path)
		if err != nil {
			log.Error("api: token file rejected; the loaded tokens stay in force", "err", err)
			continue
		}
		last = info
		apply(s)
		log.Info("api: tokens reloaded", "file", path, "tokens", s.Len())
	}
}
