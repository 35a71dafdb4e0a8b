//go:build !linux

package servehandler

import "io"

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
