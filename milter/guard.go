package milter

import (
	"bytes"
	"encoding/binary"
	"fmt"

	gomilter "github.com/d--j/go-milter"
)

// The packet guard stands between the socket and go-milter.
//
// go-milter v0.10.1 parses packets without bounds checks (a CONNECT
// without its family byte, a MAIL or RCPT without a NUL, a zero length
// all index past the end), the goroutine that serves a connection has no
// recover, and it allocates whatever length a packet claims (up to
// 512 MiB) before a byte of it has arrived. Any process that can reach
// the milter socket could take the daemon down with four bytes. The
// guard frames every packet itself, refuses lengths the negotiation does
// not allow, collects the payload as it arrives, and checks each
// command's structure against exactly what go-milter's parser assumes,
// so go-milter only ever sees packets it parses safely. The checks are
// complete for go-milter's server side because its parser is small and
// enumerable: processMsg and negotiate are the only readers of a packet.

// Packet size limits, counted without the length prefix.
const (
	// optNegSize is the OPTNEG packet's fixed size: the command byte
	// and three 32-bit words (version, actions, protocol). Postfix and
	// Sendmail send exactly this.
	optNegSize = 1 + 12
	// maxCommandSize bounds every packet other than a body chunk: the
	// protocol's largest data size. Postfix sends a header field whole
	// (header_size_limit is 100 KiB by default), so the negotiated body
	// chunk size, 64 KiB at least, would refuse legitimate headers.
	maxCommandSize = 1 + int(gomilter.DataSize1M)
)

// Protocol mask bits for the data size an MTA offers (SMFIP_MDS_*);
// go-milter keeps its own copies private.
const (
	mds256K = 1 << 28
	mds1M   = 1 << 29
)

// ProtocolError is a packet the guard refused. The connection is closed
// after it: the milter protocol has no way to resynchronise.
type ProtocolError struct {
	Code   byte // the command byte, 0 when the packet had none
	Reason string
}

func (e *ProtocolError) Error() string {
	if e.Code == 0 {
		return "malformed milter packet: " + e.Reason
	}
	return fmt.Sprintf("malformed milter packet %q: %s", e.Code, e.Reason)
}

func refuse(code byte, format string, args ...any) error {
	return &ProtocolError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// packetGuard knows the state of one connection that the checks depend
// on: whether options were negotiated, and the body chunk size offered.
type packetGuard struct {
	negotiated bool
	maxBody    int // largest body chunk, command byte included
}

// checkLength refuses a length prefix before any of the payload is read.
func (g *packetGuard) checkLength(n uint32) error {
	switch {
	case n == 0:
		return refuse(0, "length 0: a packet has at least its command byte")
	case !g.negotiated && n != optNegSize:
		return refuse(0, "length %d before negotiation: the option negotiation packet has %d bytes", n, optNegSize)
	case n > uint32(max(maxCommandSize, g.maxBody)):
		return refuse(0, "length %d is over the protocol's limit of %d", n, max(maxCommandSize, g.maxBody))
	}
	return nil
}

// check validates one whole packet (command byte and data, without the
// length prefix) and updates the guard's state from it.
func (g *packetGuard) check(pkt []byte) error {
	code, data := pkt[0], pkt[1:]
	if !g.negotiated {
		if code != 'O' {
			return refuse(code, "the first command must be option negotiation ('O')")
		}
		g.negotiated = true
		g.maxBody = 1 + offeredDataSize(binary.BigEndian.Uint32(data[8:12]))
		return nil
	}
	switch code {
	case 'O':
		return refuse(code, "options can only be negotiated once per connection")
	case 'B':
		if len(pkt) > g.maxBody {
			return refuse(code, "body chunk of %d bytes is over the negotiated %d", len(data), g.maxBody-1)
		}
	case 'C':
		return checkConnect(data)
	case 'H', 'D':
		if len(data) == 0 {
			return refuse(code, "no data")
		}
	case 'M', 'R':
		if bytes.IndexByte(data, 0) < 0 {
			return refuse(code, "address is not NUL-terminated")
		}
	case 'L':
		if len(data) < 2 || data[len(data)-1] != 0 || bytes.Count(data, []byte{0}) != 2 {
			return refuse(code, "a header packet is a NUL-terminated name and a NUL-terminated value")
		}
	case 'T', 'N', 'E', 'A', 'Q', 'K', 'U':
	default:
		return refuse(code, "unknown command")
	}
	if code != 'B' && len(pkt) > maxCommandSize {
		return refuse(code, "%d bytes is over the limit of %d", len(pkt), maxCommandSize)
	}
	return nil
}

// checkConnect validates SMFIC_CONNECT: host NUL family [port address NUL].
func checkConnect(data []byte) error {
	host := bytes.IndexByte(data, 0)
	if host < 0 {
		return refuse('C', "host name is not NUL-terminated")
	}
	rest := data[host+1:]
	if len(rest) == 0 {
		return refuse('C', "no protocol family")
	}
	switch family := rest[0]; family {
	case 'U':
	case 'L', '4', '6':
		if len(rest) < 3 {
			return refuse('C', "family %q without a port", family)
		}
		if bytes.IndexByte(rest[3:], 0) < 0 {
			return refuse('C', "address is not NUL-terminated")
		}
	default:
		return refuse('C', "unknown protocol family %q", family)
	}
	return nil
}

// offeredDataSize is the body chunk size an MTA's protocol mask offers,
// computed as go-milter computes it; luamilter's negotiator accepts the
// offer unchanged, so this is also the negotiated size.
func offeredDataSize(protocol uint32) int {
	switch {
	case protocol&mds1M != 0:
		return int(gomilter.DataSize1M)
	case protocol&mds256K != 0:
		return int(gomilter.DataSize256K)
	}
	return int(gomilter.DataSize64K)
}
