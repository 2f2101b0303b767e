package logtail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSince_LastLinesAfterTheOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	if Size(path) != 0 || Since(path, 0, 3) != "" {
		t.Fatal("a missing log has size 0 and no lines")
	}
	if err := os.WriteFile(path, []byte("old 1\nold 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	off := Size(path)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new 1\nnew 2\nnew 3\nnew 4\n")
	f.Close()
	if got := Since(path, off, 3); got != "new 2\nnew 3\nnew 4" {
		t.Errorf("Since = %q", got)
	}
	if got := Since(path, off, 10); strings.Contains(got, "old") || !strings.HasPrefix(got, "new 1") {
		t.Errorf("Since reads before the offset: %q", got)
	}
	// A log rotated to a shorter file is read from its start.
	if err := os.WriteFile(path, []byte("rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := Since(path, off, 3); got != "rotated" {
		t.Errorf("after rotation: %q", got)
	}
}
