package luart

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// logHost is a Host whose Logger is log.
type logHost struct{ log *slog.Logger }

func (h logHost) Logger() *slog.Logger { return h.log }

// TestHostLogger checks where print output goes: to the Host's logger
// when it has one, else to the runtime's, tagged with the queue id.
func TestHostLogger(t *testing.T) {
	var hostOut bytes.Buffer
	hostLog := slog.New(slog.NewTextHandler(&hostOut, nil)).With("session", "s1")
	tests := []struct {
		name     string
		info     CallInfo
		wantHost string // in the host's output; "" means nothing there
		wantRT   string // in the runtime's output; "" means nothing there
	}{
		{"no host", CallInfo{Module: "m", QueueID: "Q1"}, "", "queue_id=Q1 module=m"},
		{"host with a logger", CallInfo{Module: "m", QueueID: "Q1", Host: logHost{hostLog}}, "session=s1 module=m", ""},
		{"host without one", CallInfo{Module: "m", QueueID: "Q1", Host: logHost{}}, "", "queue_id=Q1 module=m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hostOut.Reset()
			var rtOut bytes.Buffer
			rt := testRuntime(t, `msys.registerModule("m", {})`, Config{PoolSize: 1, Log: slog.New(slog.NewTextHandler(&rtOut, nil))})
			st, err := rt.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Release(st)
			fn, err := st.L.LoadString(`print("hello")`)
			if err != nil {
				t.Fatal(err)
			}
			info := tc.info
			if _, err := st.Call(context.Background(), &info, fn); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ out, want string }{{hostOut.String(), tc.wantHost}, {rtOut.String(), tc.wantRT}} {
				if got := strings.Contains(c.out, "msg=hello"); got != (c.want != "") {
					t.Errorf("print output %q, want it there: %v", c.out, c.want != "")
				}
				if c.want != "" && !strings.Contains(c.out, c.want) {
					t.Errorf("print output %q lacks %q", c.out, c.want)
				}
			}
		})
	}
}
