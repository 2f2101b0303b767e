package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// clock is a hand-moved time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestMeter_LinesAtEachTenthWithTimeLeft(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(1000, 0)}
	m := &Meter{w: &out, now: c.now}
	// The step starts at its first update (t = 1 s), one iteration a
	// second after that.
	for i := 0; i < 10; i++ {
		c.t = c.t.Add(time.Second)
		m.Update("iALS", i, 10) // one iteration a second
	}
	c.t = c.t.Add(time.Second)
	m.Update("iALS", 10, 10)
	got := out.String()
	for _, want := range []string{
		"iALS: started\n",
		"iALS:  10% (1 of 10), 9s left\n",
		"iALS:  50% (5 of 10), 5s left\n",
		"iALS:  90% (9 of 10), 1s left\n",
		"iALS: done in 10s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 11 {
		t.Errorf("%d lines, want 11 (start, nine tenths, done):\n%s", n, got)
	}
}

func TestMeter_UnknownTotalReportsRateAtLeastEvery15s(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(1000, 0)}
	m := &Meter{w: &out, now: c.now}
	for i := 1; i <= 40; i++ {
		c.t = c.t.Add(time.Second)
		m.Update("read ClickHouse", i*100_000, 0)
	}
	m.Update("iALS", 0, 10) // the next step ends this one
	got := out.String()
	for _, want := range []string{
		"read ClickHouse: 1.6M so far (107k/s), 15s\n",
		"read ClickHouse: 3.1M so far (103k/s), 30s\n",
		"read ClickHouse: done in 39s\n",
		"iALS: started\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestMeter_TerminalRedrawsOneLine(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(1000, 0)}
	m := &Meter{w: &out, now: c.now, tty: true}
	for i := 0; i < 4; i++ {
		c.t = c.t.Add(time.Second)
		m.Update("neighbours", i, 4)
	}
	m.Finish()
	got := out.String()
	if !strings.Contains(got, "\r\033[Kneighbours [======================        ]  75% 1s left") || !strings.HasSuffix(got, "\r\033[Kneighbours: done in 3s\n") {
		t.Errorf("terminal output %q", got)
	}
	if strings.Count(got, "\n") != 1 {
		t.Errorf("a bar must stay on one line: %q", got)
	}
}

func TestMeter_NilDoesNothing(t *testing.T) {
	var m *Meter
	m.Update("x", 1, 2)
	m.Finish()
}
