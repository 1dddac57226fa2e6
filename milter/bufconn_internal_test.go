package milter

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"

	gomilter "github.com/d--j/go-milter"
)

// TestPacketBuffers reads packets of every size class through a
// coalescing connection, small ones between big ones, and checks that
// each arrives whole and that a pool buffer is given back when the next
// packet starts.
func TestPacketBuffers(t *testing.T) {
	chunk64K := 1 + int(gomilter.DataSize64K)
	cases := []struct {
		name string
		code byte
		size int // packet size without the length prefix, command byte included
	}{
		{"small", 'N', 1},
		{"kept buffer", 'B', keepPacketBuffer - 4},
		{"just over the kept buffer", 'B', keepPacketBuffer - 3},
		{"full 64K chunk", 'B', chunk64K},
		{"small after a chunk", 'A', 1},
		{"full 64K chunk again", 'B', chunk64K},
		{"odd size", 'B', 100_001},
		{"full 1M chunk", 'B', 1 + int(gomilter.DataSize1M)},
		{"small at the end", 'N', 1},
	}
	client, server := net.Pipe()
	defer client.Close()
	c := newCoalescingConn(server, Config{})
	defer c.Close()
	packet := func(code byte, size int, fill byte) []byte {
		p := binary.BigEndian.AppendUint32(nil, uint32(size))
		p = append(p, code)
		return append(p, bytes.Repeat([]byte{fill}, size-1)...)
	}
	go func() {
		optneg := binary.BigEndian.AppendUint32(nil, optNegSize)
		optneg = append(optneg, 'O')
		optneg = binary.BigEndian.AppendUint32(optneg, 6)
		optneg = binary.BigEndian.AppendUint32(optneg, 0)
		optneg = binary.BigEndian.AppendUint32(optneg, mds1M)
		if _, err := client.Write(optneg); err != nil {
			return
		}
		for i, tc := range cases {
			if _, err := client.Write(packet(tc.code, tc.size, byte('a'+i))); err != nil {
				return
			}
		}
	}()
	read := func(n int) []byte {
		t.Helper()
		b := make([]byte, n)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	read(4 + optNegSize)
	for i, tc := range cases {
		got := read(4 + tc.size)
		if want := packet(tc.code, tc.size, byte('a'+i)); !bytes.Equal(got, want) {
			t.Fatalf("%s: packet differs from what was sent", tc.name)
		}
		if big := tc.size+4 > keepPacketBuffer; big != (c.pooled != nil) {
			t.Errorf("%s: in a pool buffer %v, want %v", tc.name, c.pooled != nil, big)
		}
		if cap(c.small) > keepPacketBuffer {
			t.Errorf("%s: the connection's own buffer grew to %d bytes", tc.name, cap(c.small))
		}
	}
}
