package chserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotInstalled is returned (wrapped, with the paths tried) by Start when
// no ClickHouse server binary can be found. Callers can test for it with
// errors.Is and tell the user to install ClickHouse, for example with
// "apt-get install clickhouse-server".
var ErrNotInstalled = errors.New("clickhouse server binary not found (install clickhouse-server, e.g. apt-get install clickhouse-server)")

// serverCommand is the program and leading arguments that run a ClickHouse
// server in the foreground.
type serverCommand struct {
	path string
	args []string // before --config-file
}

// resolveBinary finds the ClickHouse server. An explicit binary is used as
// given (looked up in PATH when it has no slash); otherwise
// clickhouse-server in PATH, /usr/sbin/clickhouse-server, clickhouse in
// PATH and /usr/bin/clickhouse are tried in that order. The single
// "clickhouse" multi-tool binary needs a "server" argument.
func resolveBinary(explicit string) (serverCommand, error) {
	type candidate struct {
		name   string // as given to exec.LookPath
		server bool   // multi-tool binary: add "server"
	}
	var cands []candidate
	if explicit != "" {
		cands = []candidate{{explicit, isMultiTool(explicit)}}
	} else {
		cands = []candidate{
			{"clickhouse-server", false},
			{"/usr/sbin/clickhouse-server", false},
			{"clickhouse", true},
			{"/usr/bin/clickhouse", true},
		}
	}
	var tried []string
	for _, c := range cands {
		p, err := exec.LookPath(c.name)
		if err != nil {
			tried = append(tried, c.name)
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			tried = append(tried, c.name)
			continue
		}
		sc := serverCommand{path: p}
		if c.server {
			sc.args = []string{"server"}
		}
		return sc, nil
	}
	return serverCommand{}, fmt.Errorf("%w (tried %s)", ErrNotInstalled, strings.Join(tried, ", "))
}

// isMultiTool reports whether path names the single "clickhouse" binary
// that dispatches on its first argument.
func isMultiTool(path string) bool {
	return filepath.Base(path) == "clickhouse"
}
