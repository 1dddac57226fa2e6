package netspec

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		spec, want, err string
	}{
		{"192.0.2.0/24", "192.0.2.0/24", ""},
		{"192.0.2.7/24", "192.0.2.0/24", ""},
		{"192.0.2.7", "192.0.2.7/32", ""},
		{"::1", "::1/128", ""},
		{"2001:db8::/32", "2001:db8::/32", ""},
		{"::ffff:192.0.2.7", "192.0.2.7/32", ""},
		{"", "", "invalid address"},
		{"mail.example.com", "", "invalid address"},
		{"fe80::1%eth0", "", "invalid address"},
		{"192.0.2.0/33", "", "invalid CIDR"},
		{"/24", "", "invalid CIDR"},
		{" 192.0.2.7", "", "invalid address"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			n, err := Parse(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) = %v, %v; want error %q", tt.spec, n, err, tt.err)
				}
				return
			}
			if err != nil || n.String() != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %s", tt.spec, n, err, tt.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		specs []string
		want  string
		err   string
	}{
		{nil, "", ""},
		{[]string{"127.0.0.0/8", "::1"}, "127.0.0.0/8 ::1/128", ""},
		{[]string{"127.0.0.0/8", "localhost"}, "", `invalid address "localhost"`},
	}
	for _, tt := range tests {
		nets, err := ParseList(tt.specs)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseList(%q) error %v, want %q", tt.specs, err, tt.err)
			}
			continue
		}
		var got []string
		for _, n := range nets {
			got = append(got, n.String())
		}
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("ParseList(%q) = %q, %v; want %q", tt.specs, got, err, tt.want)
		}
	}
}
