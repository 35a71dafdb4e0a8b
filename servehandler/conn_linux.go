package servehandler

import (
	"io"
	"syscall"
	"time"
)

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
