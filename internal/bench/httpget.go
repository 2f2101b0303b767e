package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// getter sends GET requests one at a time over a keep-alive HTTP/1.1
// connection and reads each whole answer. The load generator shares the
// machine with the server it measures: net/http's client cost it about
// 0.1 ms of CPU per request (a request and header map, two goroutines per
// connection and their hand-offs), a third of what the server spends.
// getter writes the request from one buffer and reads the status line,
// the headers it needs and the body (Content-Length or chunked) with no
// allocation once warm. A failure other than a whole answer that is not
// a 200 closes the connection; the next request dials again.
type getter struct {
	host    string // host:port
	timeout time.Duration
	conn    net.Conn
	r       *bufio.Reader
	req     []byte
}

func newGetter(base string, timeout time.Duration) (*getter, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("bench load: url %q: %w", base, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("bench load: url %q: want http://host:port", base)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return &getter{host: host, timeout: timeout}, nil
}

var errNotOK = errors.New("not 200 OK")

// get sends GET target (path and query) with the Authorization header
// auth and reads the answer: an error unless it is a 200.
func (g *getter) get(ctx context.Context, target []byte, auth string) error {
	if err := g.send(ctx, target, auth); err != nil {
		return err
	}
	return g.receive()
}

// send writes GET target with the Authorization header auth, dialling
// first if the connection is not open; receive reads its answer. A
// failure of either closes the connection.
func (g *getter) send(ctx context.Context, target []byte, auth string) error {
	err := g.write(ctx, target, auth)
	g.closeOn(err)
	return err
}

// receive reads the answer to the request send wrote: an error unless it
// is a 200.
func (g *getter) receive() error {
	if g.conn == nil {
		return net.ErrClosed
	}
	err := g.readResponse()
	g.closeOn(err)
	return err
}

// closeOn closes the connection after err, unless err is a whole answer
// that is not a 200: an answer not read whole leaves it unusable.
func (g *getter) closeOn(err error) {
	if err != nil && !errors.Is(err, errNotOK) && g.conn != nil {
		g.conn.Close()
		g.conn = nil
	}
}

func (g *getter) write(ctx context.Context, target []byte, auth string) error {
	if g.conn == nil {
		d := net.Dialer{Timeout: g.timeout}
		c, err := d.DialContext(ctx, "tcp", g.host)
		if err != nil {
			return err
		}
		g.conn = c
		if g.r == nil {
			g.r = bufio.NewReaderSize(c, 16<<10)
		} else {
			g.r.Reset(c)
		}
	}
	if err := g.conn.SetDeadline(time.Now().Add(g.timeout)); err != nil {
		return err
	}
	g.req = append(g.req[:0], "GET "...)
	g.req = append(g.req, target...)
	g.req = append(g.req, " HTTP/1.1\r\nHost: "...)
	g.req = append(g.req, g.host...)
	g.req = append(g.req, "\r\nAuthorization: "...)
	g.req = append(g.req, auth...)
	g.req = append(g.req, "\r\n\r\n"...)
	_, err := g.conn.Write(g.req)
	return err
}

// readResponse reads one response to a GET: its status, its headers and
// all of its body.
func (g *getter) readResponse() error {
	line, err := g.line()
	if err != nil {
		return err
	}
	// "HTTP/1.1 200 OK" (the reason phrase may be left out)
	ok := len(line) >= 12 && bytes.HasPrefix(line, []byte("HTTP/1.")) && string(line[8:12]) == " 200" &&
		(len(line) == 12 || line[12] == ' ')
	length, chunked, closing := int64(-1), false, false
	for {
		h, err := g.line()
		if err != nil {
			return err
		}
		if len(h) == 0 {
			break
		}
		name, value, found := bytes.Cut(h, []byte(":"))
		if !found {
			return fmt.Errorf("malformed header %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return fmt.Errorf("malformed Content-Length %q", value)
			}
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			closing = asciiEqualFold(value, "close")
		}
	}
	switch {
	case chunked:
		err = g.discardChunks()
	case length >= 0:
		_, err = g.r.Discard(int(length))
	default:
		// No length: the body ends with the connection.
		_, err = io.Copy(io.Discard, g.r)
		closing = true
	}
	if err != nil {
		return err
	}
	if closing {
		g.conn.Close()
		g.conn = nil
	}
	if !ok {
		return fmt.Errorf("%w: %s", errNotOK, line)
	}
	return nil
}

func (g *getter) discardChunks() error {
	for {
		line, err := g.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("malformed chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, up to the blank line
				t, err := g.line()
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if _, err := g.r.Discard(int(n)); err != nil {
			return err
		}
		if crlf, err := g.line(); err != nil || len(crlf) != 0 {
			return fmt.Errorf("chunk not followed by CRLF: %v", err)
		}
	}
}

// line returns the next line without its CRLF, valid until the next read.
func (g *getter) line() ([]byte, error) {
	l, err := g.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("header line too long")
		}
		return nil, err
	}
	return bytes.TrimSuffix(l[:len(l)-1], []byte("\r")), nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
