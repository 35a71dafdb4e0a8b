package servehandler

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
)

// conn wraps an accepted TCP connection so that a response leaves in as few system calls and
// packets as nginx's: the header block net/http writes is held back (hold) and goes out with
// the body that follows, in one writev(2) for a body in memory, or with MSG_MORE ahead of
// sendfile(2) for a file of the disk cache. net/http hands the body to the connection through
// io.ReaderFrom (response.ReadFrom calls the connection's ReadFrom once the header is
// flushed), so the byte counts and keep-alive logic of net/http stay intact.
//
// Only the goroutine serving the connection writes to it; hold and pending need no lock.
type conn struct {
	*net.TCPConn
	raw     syscall.RawConn
	hold    bool   // keep the next Write (the header block) for the body that follows
	pending []byte // the header block held back
	// block, when set with hold, replaces the header block net/http writes (see sendBlock);
	// now is the time of the request, for its Date.
	block []byte
	now   time.Time
	iov   [2][]byte
	bufs  net.Buffers
}

// listener wraps accepted TCP connections in conn.
type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	return &conn{TCPConn: tc, raw: raw}, nil
}

type connKey struct{}

// connContext is the http.Server's ConnContext: it lets the handler find the wrapped
// connection of a request.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

func connOf(r *http.Request) *conn {
	c, _ := r.Context().Value(connKey{}).(*conn)
	return c
}

func (c *conn) Write(p []byte) (int, error) {
	if c.hold {
		c.hold = false
		if c.block != nil && isStatusOK(p) {
			c.pending = append(c.pending[:0], p[:len(statusOK11)]...)
			c.pending = append(c.pending, c.block...)
			c.pending = appendDate(c.pending, c.now)
			c.pending = appendConnection(c.pending, p)
			c.pending = append(c.pending, "\r\n"...)
		} else {
			c.pending = append(c.pending[:0], p...)
		}
		c.block = nil
		return len(p), nil
	}
	if err := c.flushPending(); err != nil {
		return 0, err
	}
	return c.TCPConn.Write(p)
}

func (c *conn) Close() error {
	_ = c.flushPending()
	return c.TCPConn.Close()
}

func (c *conn) flushPending() error {
	c.hold, c.block = false, nil
	if len(c.pending) == 0 {
		return nil
	}
	_, err := c.TCPConn.Write(c.pending)
	c.pending = c.pending[:0]
	return err
}

// ReadFrom sends a response body. It returns the body bytes written, without the held
// header block: net/http compares them with Content-Length.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	switch b := r.(type) {
	case *memBody:
		return c.writeMem(b.data)
	case *fileBody:
		return c.sendFile(b)
	}
	if err := c.flushPending(); err != nil {
		return 0, err
	}
	return c.TCPConn.ReadFrom(r)
}

// writeMem writes the held header block and data with one writev(2).
func (c *conn) writeMem(data []byte) (int64, error) {
	head := int64(len(c.pending))
	c.iov[0], c.iov[1] = c.pending, data
	c.bufs = c.iov[:]
	if head == 0 {
		c.bufs = c.iov[1:]
	}
	n, err := c.bufs.WriteTo(c.TCPConn)
	c.iov[0], c.iov[1] = nil, nil
	c.pending = c.pending[:0]
	c.hold = false
	return max(n-head, 0), err
}

// The status lines net/http writes for a 200 to HTTP/1.1 and HTTP/1.0 requests.
var statusOK11, statusOK10 = []byte("HTTP/1.1 200 OK\r\n"), []byte("HTTP/1.0 200 OK\r\n")

func isStatusOK(p []byte) bool {
	return bytes.HasPrefix(p, statusOK11) || bytes.HasPrefix(p, statusOK10)
}

// appendConnection copies the Connection header lines of a header block net/http wrote
// ("Connection: close" when it will close the connection after this response).
func appendConnection(b, block []byte) []byte {
	for len(block) > 0 {
		i := bytes.Index(block, crlf)
		if i < 0 {
			break
		}
		line := block[:i]
		block = block[i+2:]
		if len(line) > 11 && string(line[:11]) == "Connection:" {
			b = append(b, line...)
			b = append(b, crlf...)
		}
	}
	return b
}

var crlf = []byte("\r\n")

// dateLine is the Date header of one second, rendered once.
type dateLine struct {
	sec  int64
	line []byte
}

var lastDate atomic.Pointer[dateLine]

// appendDate adds the Date header of now.
func appendDate(b []byte, now time.Time) []byte {
	sec := now.Unix()
	d := lastDate.Load()
	if d == nil || d.sec != sec {
		line := now.UTC().AppendFormat([]byte("Date: "), http.TimeFormat)
		d = &dateLine{sec: sec, line: append(line, crlf...)}
		lastDate.Store(d)
	}
	return append(b, d.line...)
}

// sendChunk is how much one sendfile loop sends before the write deadline moves on: a large
// file may take as long as it needs while the client keeps reading.
const sendChunk = 4 << 20

// sendFile sends the held header block with MSG_MORE (so that it shares its packet with the
// start of the body) and then the file section with sendfile(2) at an explicit offset: many
// responses send from the same open file at once.
func (c *conn) sendFile(b *fileBody) (int64, error) {
	c.hold = false
	if len(c.pending) > 0 {
		err := c.sendMore(c.pending)
		c.pending = c.pending[:0]
		if err != nil {
			return 0, err
		}
	}
	off, remain := b.off, b.n
	var sent int64
	for remain > 0 {
		chunk := min(remain, sendChunk)
		if b.n > sendChunk {
			_ = c.TCPConn.SetWriteDeadline(time.Now().Add(streamIdle))
		}
		var serr error
		err := c.raw.Write(func(fd uintptr) bool {
			for chunk > 0 {
				n, err := syscall.Sendfile(int(fd), b.e.fd, &off, int(chunk))
				switch {
				case err == nil && n > 0:
					sent += int64(n)
					remain -= int64(n)
					chunk -= int64(n)
				case err == nil:
					serr = io.ErrUnexpectedEOF // the file is shorter than it was
					return true
				case err == syscall.EAGAIN:
					return false // wait until the socket takes more
				case err == syscall.EINTR:
				default:
					serr = err
					return true
				}
			}
			return true
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// sendMore writes p with MSG_MORE: the kernel keeps it until the next write fills a packet.
func (c *conn) sendMore(p []byte) error {
	var serr error
	err := c.raw.Write(func(fd uintptr) bool {
		for len(p) > 0 {
			n, err := syscall.SendmsgN(int(fd), p, nil, nil, syscall.MSG_MORE)
			switch {
			case err == nil:
				p = p[n:]
			case err == syscall.EAGAIN:
				return false
			case err == syscall.EINTR:
			default:
				serr = err
				return true
			}
		}
		return true
	})
	if err == nil {
		err = serr
	}
	return err
}

// memBody is a response body held in memory. A wrapped connection writes it together with
// the header block; any other writer reads it.
type memBody struct {
	data []byte
	off  int
}

func (b *memBody) Read(p []byte) (int, error) {
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

// fileBody is a section of a file of the disk cache. A wrapped connection sends it with
// sendfile(2); any other writer reads it with pread(2).
type fileBody struct {
	e   *diskEntry
	off int64
	n   int64
}

func (b *fileBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.e.f.ReadAt(p, b.off)
	b.off += int64(n)
	b.n -= int64(n)
	if n > 0 {
		return n, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return 0, err
}
