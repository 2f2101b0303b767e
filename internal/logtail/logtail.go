// Package logtail reads the end of a managed server's log file, for error
// messages that show why a child process failed (internal/chserver,
// internal/zkserver, internal/kafkacluster).
package logtail

import (
	"bytes"
	"io"
	"os"
	"strings"
)

// maxRead bounds how much of a log is read for its last lines.
const maxRead = 1 << 20

// Size is the size of path, 0 if it does not exist: the offset from which
// Since reads what a process writes next.
func Size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Since returns the last n lines written to path after offset (from the
// start if the file has since been rotated and is shorter), reading at
// most the last MiB; "" if there are none or the file cannot be read.
func Since(path string, offset int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	if fi.Size() < offset {
		offset = 0
	}
	if fi.Size()-offset > maxRead {
		offset = fi.Size() - maxRead
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	return Last(b, n)
}

// Last returns the last n lines of b, trimmed.
func Last(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(string(bytes.Join(lines, []byte("\n"))))
}
