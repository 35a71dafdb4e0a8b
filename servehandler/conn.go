package servehandler

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// conn wraps an accepted TCP connection so that a response leaves in as few system calls and
// packets as nginx's: the header block net/http writes is held back (hold) and goes out with
// the body that follows, in one writev(2) for a body in memory, or with MSG_MORE ahead of
// sendfile(2) for a file of the disk cache. net/http hands the body to the connection through
// io.ReaderFrom (response.ReadFrom calls the connection's ReadFrom once the header is
// flushed), so the byte counts and keep-alive logic of net/http stay intact. Its Read is
// also the fast lane (fastpath.go).
//
// Only the goroutine serving the connection reads and writes; the fields but mu's need no
// lock.
type conn struct {
	*net.TCPConn
	raw     syscall.RawConn
	h       *Handler // the fast lane's; nil turns it off
	hold    bool     // keep the next Write (the header block) for the body that follows
	pending []byte   // the header block held back
	// block, when set with hold, replaces the header block net/http writes (see sendBlock);
	// now is the time of the request, for its Date.
	block []byte
	now   time.Time
	iov   [2]syscall.Iovec // writeMem's

	state   atomic.Int32 // the http.ConnState net/http last reported
	rarr    []byte       // the read buffer's array
	rbuf    []byte       // read from the socket, neither answered nor handed to net/http yet
	pass    int          // bytes at the start of rbuf that belong to a request net/http answers
	fastOff bool         // net/http has bytes of a request the lane did not see whole
	inARow  int          // requests answered since the lane last waited for the socket

	l          *listener
	mu         sync.Mutex
	busy       bool // the fast lane is writing a response
	laneIdle   bool // the fast lane waits for the next request
	closeAfter bool // Close came meanwhile (a graceful shutdown closing idle connections)
	closed     bool
}

// listener wraps accepted TCP connections in conn; h, when set, enables the fast lane.
type listener struct {
	net.Listener
	h *Handler

	mu    sync.Mutex
	conns map[*conn]struct{}
}

func newListener(ln net.Listener, h *Handler) *listener {
	return &listener{Listener: ln, h: h, conns: make(map[*conn]struct{})}
}

func (l *listener) Accept() (net.Conn, error) {
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
	cc := &conn{TCPConn: tc, raw: raw, h: l.h, l: l}
	l.mu.Lock()
	l.conns[cc] = struct{}{}
	l.mu.Unlock()
	return cc, nil
}

// closeLaneIdle closes the connections whose fast lane waits for a request. net/http's
// Shutdown closes its idle connections itself, but takes one that never had a request
// through net/http for new, and waits five seconds before closing it.
func (l *listener) closeLaneIdle() {
	l.mu.Lock()
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		closeIt := c.laneIdle && !c.busy && !c.closed
		if closeIt {
			c.closed = true
		}
		c.mu.Unlock()
		if closeIt {
			c.TCPConn.Close()
		}
	}
}

// connState is the http.Server's ConnState: the fast lane needs to know when net/http is
// between requests.
func connState(c net.Conn, s http.ConnState) {
	if cc, ok := c.(*conn); ok {
		cc.state.Store(int32(s))
	}
}

// Read gives net/http the bytes of the requests the fast lane does not answer itself.
func (c *conn) Read(p []byte) (int, error) {
	if c.pass > 0 || (len(c.rbuf) > 0 && c.fastOff) {
		return c.drain(p), nil
	}
	if c.h == nil || c.fastOff {
		return c.TCPConn.Read(p)
	}
	var n int
	var err error
	if http.ConnState(c.state.Load()) == http.StateActive {
		n, err = c.backgroundRead(p)
	} else {
		n, err = c.fastRead(p)
	}
	if err != nil {
		err = c.readError(err)
	}
	return n, err
}

// readError gives the errors of the lane's own reads and writes the form of net's, so that
// net/http closes the connection quietly as after any read error of a client gone away.
func (c *conn) readError(err error) error {
	if _, ok := err.(net.Error); ok || err == io.EOF {
		return err
	}
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError("read", errno)
	}
	return &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// maxPipelined bounds what backgroundRead keeps of requests pipelined behind one that
// net/http answers.
const maxPipelined = 4 * maxHeadBytes

// backgroundRead is net/http's background read while it answers a request, which only
// watches for the client going away (net/http ends it with a read deadline in the past).
// Requests pipelined meanwhile are kept for the lane instead of being handed over; past
// maxPipelined, net/http gets them and the lane is off for the connection.
func (c *conn) backgroundRead(p []byte) (int, error) {
	for len(c.rbuf) < maxPipelined {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	c.fastOff = true
	return c.drain(p), nil
}

// drain hands buffered bytes to net/http: those of the request it answers (pass), or all.
func (c *conn) drain(p []byte) int {
	n := len(c.rbuf)
	if c.pass > 0 {
		n = min(n, c.pass)
	}
	n = copy(p, c.rbuf[:n])
	c.rbuf = c.rbuf[n:]
	if c.pass > 0 {
		c.pass -= n
	}
	return n
}

// fastRead reads and answers requests until one is for net/http, then hands it over. It
// keeps net/http's timeouts: ReadHeaderTimeout from a request's first byte, IdleTimeout
// between requests, WriteTimeout per response.
func (c *conn) fastRead(p []byte) (int, error) {
	answered, headerDeadline := false, false
	for {
		if len(c.rbuf) > 0 {
			var fr fastReq
			n, verdict := parseHead(c.rbuf, &fr)
			switch verdict {
			case headFast:
				if !c.begin() {
					return 0, net.ErrClosed
				}
				ok, err := c.h.serveFast(c, &fr)
				if !c.end() {
					return 0, net.ErrClosed
				}
				if err != nil {
					return 0, err
				}
				if !ok {
					c.pass = n
					return c.drain(p), nil
				}
				c.rbuf = c.rbuf[n:]
				answered, headerDeadline = true, false
				// A client that sends its next request as soon as it has the answer keeps
				// this goroutine busy until the scheduler preempts it, 10 ms later, while
				// the other connections wait: give way after a few answers in a row. Not
				// after each, though: while run queues are never empty the scheduler does
				// not poll the network, and connections waiting for it are the ones left.
				if c.inARow++; c.inARow >= maxInARow {
					c.inARow = 0
					runtime.Gosched()
				}
				continue
			case headPass:
				c.pass = n
				return c.drain(p), nil
			case headOff:
				c.fastOff = true
				return c.drain(p), nil
			}
		}
		if len(c.rbuf) == 0 {
			if answered {
				_ = c.TCPConn.SetReadDeadline(time.Now().Add(IdleTimeout))
				answered = false
			}
		} else if !headerDeadline {
			_ = c.TCPConn.SetReadDeadline(time.Now().Add(ReadHeaderTimeout))
			headerDeadline = true
		}
		idle := len(c.rbuf) == 0
		if idle {
			c.setLaneIdle(true)
		}
		err := c.fill()
		if idle {
			c.setLaneIdle(false)
		}
		if err != nil {
			return 0, err
		}
	}
}

// maxInARow is how many requests the fast lane answers on one connection without waiting
// for its socket before it lets other goroutines run.
const maxInARow = 8

// fill reads more of the socket into rbuf, moving what is unread to the start of its array
// first, and growing the array when it is full.
func (c *conn) fill() error {
	n := len(c.rbuf)
	switch {
	case c.rarr == nil:
		c.rarr = make([]byte, 4096)
	case n == len(c.rarr):
		grown := make([]byte, 2*len(c.rarr))
		copy(grown, c.rbuf)
		c.rarr = grown
	case n > 0 && &c.rbuf[0] != &c.rarr[0]:
		copy(c.rarr, c.rbuf)
	}
	m, err := c.readSock(c.rarr[n:])
	c.rbuf = c.rarr[:n+m]
	if m > 0 {
		return nil
	}
	return err
}

func (c *conn) setLaneIdle(idle bool) {
	c.mu.Lock()
	c.laneIdle = idle
	c.mu.Unlock()
}

// begin and end bracket a fast-lane response, so that a Close from a graceful shutdown
// (which takes the connection for idle) waits for the response to be written.
func (c *conn) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.closeAfter {
		return false
	}
	c.busy = true
	return true
}

func (c *conn) end() bool {
	c.mu.Lock()
	c.busy = false
	closeNow := c.closeAfter && !c.closed
	if closeNow {
		c.closed = true
	}
	c.mu.Unlock()
	if closeNow {
		c.TCPConn.Close()
		return false
	}
	return true
}

// writeFast writes a fast-lane response: status line, block, Date and the body from
// memory (data) or the disk cache (e), none for HEAD. It returns the body bytes written.
func (c *conn) writeFast(block []byte, now time.Time, data []byte, e *diskEntry, size int64) (int64, error) {
	_ = c.TCPConn.SetWriteDeadline(now.Add(WriteTimeout))
	c.pending = append(c.pending[:0], statusOK11...)
	c.pending = append(c.pending, block...)
	c.pending = appendDate(c.pending, now)
	c.pending = append(c.pending, crlf...)
	switch {
	case data != nil:
		return c.writeMem(data)
	case e != nil:
		return c.sendFile(&fileBody{e: e, n: size})
	}
	return 0, c.flushPending()
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
	c.mu.Lock()
	if c.busy {
		c.closeAfter = true
		c.mu.Unlock()
		return nil
	}
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if c.l != nil {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	}
	if already {
		return net.ErrClosed
	}
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
