package milter

import "testing"

func TestCodeAction(t *testing.T) {
	tests := []struct {
		code int
		want Action
	}{
		{0, Continue}, {250, Continue}, {354, Continue}, {399, Continue},
		{400, TempFail}, {421, TempFail}, {451, TempFail}, {499, TempFail},
		{500, Reject}, {550, Reject}, {599, Reject},
		{600, Continue}, {-450, Continue}, {5500, Continue},
	}
	for _, tc := range tests {
		if got := CodeAction(tc.code); got != tc.want {
			t.Errorf("CodeAction(%d) = %s, want %s", tc.code, got, tc.want)
		}
		if v := Reply(tc.code, "x"); v.Action != tc.want || v.Code != tc.code {
			t.Errorf("Reply(%d) = %+v, want action %s", tc.code, v, tc.want)
		}
	}
}

func TestParseAction(t *testing.T) {
	for a := Continue; a <= Discard; a++ {
		if got, ok := ParseAction(a.String()); !ok || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", a.String(), got, ok)
		}
	}
	if _, ok := ParseAction("quarantine"); ok {
		t.Error("quarantine is a change, not an action")
	}
}
