// Package progress shows how far a long command is: a line per step with
// its percentage and the time left, or, when the output is a terminal, one
// bar redrawn in place.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// lineEvery is the longest a step goes without a line when the output is
// not a terminal; a line is also written at each tenth of the work.
const lineEvery = 15 * time.Second

// Meter writes progress to w. Its methods are safe for concurrent use; a
// nil *Meter does nothing.
type Meter struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu      sync.Mutex
	step    string
	start   time.Time
	last    time.Time // the last line or redraw
	tenth   int       // the last tenth of the work reported
	done    int
	total   int
	drawing bool // a bar is on the terminal's last line
}

// New returns a Meter writing to w, drawing a bar when w is a terminal.
func New(w io.Writer) *Meter {
	return &Meter{w: w, tty: isTerminal(w), now: time.Now}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// Update says that step has done of total units (total 0: unknown). A
// new step name ends the previous step. A step ends by itself when done
// reaches total.
func (m *Meter) Update(step string, done, total int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if step != m.step {
		m.finish(now)
		m.step, m.start, m.last, m.tenth = step, now, now, 0
		if !m.tty {
			fmt.Fprintf(m.w, "%s: started\n", step)
		}
	}
	m.done, m.total = done, total
	if total > 0 && done >= total {
		m.finish(now)
		return
	}
	if m.tty {
		if now.Sub(m.last) >= 100*time.Millisecond {
			m.last = now
			m.drawing = true
			fmt.Fprintf(m.w, "\r\033[K%s", m.status(now, true))
		}
		return
	}
	tenth := 0
	if total > 0 {
		tenth = 10 * done / total
	}
	if tenth > m.tenth || now.Sub(m.last) >= lineEvery {
		m.tenth = max(m.tenth, tenth)
		m.last = now
		fmt.Fprintln(m.w, m.status(now, false))
	}
}

// Finish ends the current step, if any, with its duration.
func (m *Meter) Finish() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finish(m.now())
}

func (m *Meter) finish(now time.Time) {
	if m.step == "" {
		return
	}
	if m.drawing {
		fmt.Fprint(m.w, "\r\033[K")
		m.drawing = false
	}
	fmt.Fprintf(m.w, "%s: done in %s\n", m.step, roundDuration(now.Sub(m.start)))
	m.step = ""
}

// status describes the current step: percentage, bar (on a terminal) and
// time left, or, with no total, the units so far and their rate.
func (m *Meter) status(now time.Time, bar bool) string {
	elapsed := now.Sub(m.start)
	if m.total <= 0 {
		rate := ""
		if s := elapsed.Seconds(); s > 0 {
			rate = fmt.Sprintf(" (%s/s)", count(float64(m.done)/s))
		}
		return fmt.Sprintf("%s: %s so far%s, %s", m.step, count(float64(m.done)), rate, roundDuration(elapsed))
	}
	frac := float64(m.done) / float64(m.total)
	left := "time left unknown"
	if m.done > 0 {
		left = roundDuration(time.Duration(float64(elapsed)*(1-frac)/frac)).String() + " left"
	}
	if !bar {
		return fmt.Sprintf("%s: %3.0f%% (%d of %d), %s", m.step, 100*frac, m.done, m.total, left)
	}
	const width = 30
	n := int(frac * width)
	return fmt.Sprintf("%s [%s%s] %3.0f%% %s", m.step, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, left)
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// count writes a number of units short: 950, 12.3k, 4.56M.
func count(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
