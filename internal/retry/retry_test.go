package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoff_DoublesUpToMaxAndResets(t *testing.T) {
	b := NewBackoff(time.Millisecond, 5*time.Millisecond)
	var waits []time.Duration
	for range 5 {
		waits = append(waits, b.Next())
		if err := b.Sleep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{1, 2, 4, 5, 5}
	for i := range want {
		if waits[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", waits, want)
		}
	}
	b.Reset()
	if b.Next() != time.Millisecond {
		t.Errorf("after Reset the next wait is %v", b.Next())
	}
}

func TestBackoff_SleepEndsWithTheContext(t *testing.T) {
	b := NewBackoff(time.Hour, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := b.Sleep(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Minute {
		t.Fatalf("Sleep = %v after %v", err, time.Since(start))
	}
	if b.Next() != time.Hour {
		t.Errorf("an interrupted sleep doubled the delay to %v", b.Next())
	}
}

func TestDo_RetriesUntilSuccessOrTheContextEnds(t *testing.T) {
	calls := 0
	err := Do(context.Background(), time.Microsecond, time.Millisecond, func() error {
		if calls++; calls < 4 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("Do = %v after %d calls, want nil after 4", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Do(ctx, time.Microsecond, time.Millisecond, func() error { return errors.New("never") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with a cancelled context = %v", err)
	}
}
