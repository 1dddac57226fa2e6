package milter

import (
	"net"
	"testing"
)

func TestSessionsRegister(t *testing.T) {
	_, doc, _ := net.ParseCIDR("192.0.2.0/24")
	r := NewSessions()
	r.open(1)
	r.open(2)
	r.open(3)
	r.connected(1, net.ParseIP("192.0.2.1"))
	r.connected(2, net.ParseIP("192.0.2.2"))
	r.connected(9, net.ParseIP("192.0.2.9")) // not open: ignored
	steps := []struct {
		name      string
		do        func()
		len, inNo int
	}{
		{"three open, two connected from the network", func() {}, 3, 2},
		{"one closes", func() { r.close(2) }, 2, 1},
		{"an unconnected one closes", func() { r.close(3) }, 1, 1},
		{"closing twice changes nothing", func() { r.close(3) }, 1, 1},
	}
	for _, s := range steps {
		s.do()
		if r.Len() != s.len || r.CountIn(doc) != s.inNo {
			t.Fatalf("%s: Len %d CountIn %d, want %d and %d", s.name, r.Len(), r.CountIn(doc), s.len, s.inNo)
		}
	}
}
