package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// otherUID is the uid (and gid) the Docker image runs as.
const otherUID = 65532

// readAsChildEnv, when set, makes TestRead_PermissionDeniedNamesTheUidAndChmod
// the child it starts: it reads the token file the variable names and
// prints what Read returned.
const readAsChildEnv = "VETRINA_TOKEN_TEST_READ_AS_CHILD"

// TestRead_PermissionDeniedNamesTheUidAndChmod: a server that runs as
// another user than the token file's owner (the image runs as uid 65532;
// `vetrina token` writes files 0600) is told which uid it runs as and that
// chmod 0644 is safe, rather than a bare "permission denied". The reading
// runs in a copy of this test binary started as uid/gid 65532, since root
// reads any file.
func TestRead_PermissionDeniedNamesTheUidAndChmod(t *testing.T) {
	if path := os.Getenv(readAsChildEnv); path != "" {
		_, _, err := Read(path)
		fmt.Printf("uid=%d\nerrPermission=%v\nerr=%v\n", os.Getuid(), errors.Is(err, fs.ErrPermission), err)
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("this test must run as root (euid is %d): it starts a child as uid %d to read a root-owned 0600 file", os.Geteuid(), otherUID)
	}
	dir := reachableTempDir(t)
	path := filepath.Join(dir, "tokens.json")
	doc := `{"tokens":[{"name":"a","sha256":"` + HashHex("x") + `","scopes":["feed"]}]}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if _, _, err := Read(path); err != nil { // as root: the file itself is good
		t.Fatalf("as root: %v", err)
	}

	// The go-build directory holding this binary is 0700: copy it where
	// the other uid may run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "token.test")
	copyFile(t, self, bin, 0o755)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestRead_PermissionDeniedNamesTheUidAndChmod$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), readAsChildEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: otherUID, Gid: otherUID, Groups: []uint32{}}}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("child as uid %d: %v\nstdout:\n%s\nstderr:\n%s", otherUID, err, out.String(), errOut.String())
	}
	got := out.String()
	t.Logf("child as uid %d:\n%s", otherUID, got)
	for _, want := range []string{
		fmt.Sprintf("uid=%d\n", otherUID),
		"errPermission=true\n",
		"permission denied",
		fmt.Sprintf("this process runs as uid %d", otherUID),
		"make the file readable to it",
		"chmod 0644",
		fmt.Sprintf("chown it to uid %d", otherUID),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Read as uid %d of a root-owned 0600 file: the output lacks %q:\n%s", otherUID, want, got)
		}
	}
}

// reachableTempDir returns t.TempDir() made traversable (0755) by other
// users, together with the per-test directory above it.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, mode); err != nil {
		t.Fatal(err)
	}
}
