//go:build !linux

package servehandler

import (
	"io"
	"net"
)

// sendFile sends the held header block and the file section by copying: the sendfile(2)
// of other systems takes other arguments, and production runs on Linux.
func (c *conn) sendFile(b *fileBody) (int64, error) {
	if err := c.flushPending(); err != nil {
		return 0, err
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(writerOnly{c.TCPConn}, b, *bp)
}

// writeMem writes the held header block and data with one writev(2).
func (c *conn) writeMem(data []byte) (int64, error) {
	head := int64(len(c.pending))
	bufs := net.Buffers{c.pending, data}
	n, err := bufs.WriteTo(c.TCPConn)
	c.pending = c.pending[:0]
	c.hold = false
	return max(n-head, 0), err
}

func (c *conn) readSock(p []byte) (int, error) { return c.TCPConn.Read(p) }
