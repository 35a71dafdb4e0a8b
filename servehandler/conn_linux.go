package servehandler

import (
	"io"
	"syscall"
	"time"
	"unsafe"
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
				n, err := rawSendfile(fd, b.e.fd, &off, min(chunk, rawSendMax))
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

// rawSendMax bounds one sendfile(2) call of rawSendfile.
const rawSendMax = 256 << 10

// rawSendfile is sendfile(2) without telling the Go scheduler about a system call, like the
// writev, sendto and read of writeMem, sendMore and readSock. On a non-blocking socket they
// never wait for the client, but sending into a loopback or fast network connection takes
// tens of microseconds, long enough for the scheduler's monitor to take the processor away
// as from a blocked call and to keep waking every 20 µs: with one processor, that cost a
// fifth of the CPU time of 150 KiB responses in thread switches. Like nginx, a sendfile call
// may wait for the disk when the file has left the page cache; rawSendMax keeps that short.
func rawSendfile(sock uintptr, file int, off *int64, n int64) (int, error) {
	r, _, errno := syscall.RawSyscall6(syscall.SYS_SENDFILE, sock, uintptr(file), uintptr(unsafe.Pointer(off)), uintptr(n), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// writeMem writes the held header block and data with one writev(2) (more when the socket
// takes only part).
func (c *conn) writeMem(data []byte) (int64, error) {
	head := c.pending
	c.hold = false
	defer func() { c.pending = c.pending[:0] }()
	var sent int64
	var serr error
	err := c.raw.Write(func(fd uintptr) bool {
		for len(head)+len(data) > 0 {
			n := 0
			if len(head) > 0 {
				c.iov[n].Base = &head[0]
				c.iov[n].SetLen(len(head))
				n++
			}
			if len(data) > 0 {
				c.iov[n].Base = &data[0]
				c.iov[n].SetLen(len(data))
				n++
			}
			r, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&c.iov[0])), uintptr(n))
			switch errno {
			case 0:
			case syscall.EAGAIN:
				return false
			case syscall.EINTR:
				continue
			default:
				serr = errno
				return true
			}
			m := int(r)
			k := min(m, len(head))
			head, m = head[k:], m-k
			data = data[m:]
			sent += int64(m)
		}
		return true
	})
	c.iov[0].Base, c.iov[1].Base = nil, nil
	if err == nil {
		err = serr
	}
	return sent, err
}

// sendMore writes p with MSG_MORE: the kernel keeps it until the next write fills a packet.
func (c *conn) sendMore(p []byte) error {
	var serr error
	err := c.raw.Write(func(fd uintptr) bool {
		for len(p) > 0 {
			r, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), syscall.MSG_MORE, 0, 0)
			switch errno {
			case 0:
				p = p[r:]
			case syscall.EAGAIN:
				return false
			case syscall.EINTR:
			default:
				serr = errno
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

// readSock is the fast lane's read(2), raw like its writes.
func (c *conn) readSock(p []byte) (int, error) {
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			r, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch errno {
			case 0:
				if n = int(r); n == 0 {
					rerr = io.EOF
				}
				return true
			case syscall.EAGAIN:
				c.inARow = 0
				return false // wait until the socket is readable
			case syscall.EINTR:
				continue
			}
			rerr = errno
			return true
		}
	})
	if err == nil {
		err = rerr
	}
	return n, err
}
