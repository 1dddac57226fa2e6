package policy_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/milttest"
)

// TestCoreMessageContext: msys.core.ec_message_context_get/set work on
// the dictionaries vctx:get/set use, with Momentum's return values.
func TestCoreMessageContext(t *testing.T) {
	cases := []struct {
		name, lua string
		want      []string
	}{
		{"set then vctx:get", `local r = msys.core.ec_message_context_set(msg, msys.core.ECMESS_CTX_MESS, "k", "v")
			report(vctx, r, vctx:get(msys.core.VCTX_MESS, "k"), vctx:get(msys.core.VCTX_CONN, "k"))`,
			[]string{"1", "v", "nil"}},
		{"vctx:set then get", `vctx:set(msys.core.VCTX_CONN, "c", "x")
			report(vctx, msys.core.ec_message_context_get(msg, msys.core.ECMESS_CTX_CONN, "c"),
			  msys.core.ec_message_context_get(msg, msys.core.ECMESS_CTX_MESS, "c"))`,
			[]string{"x", ""}},
		{"missing key is empty", `report(vctx, msys.core.ec_message_context_get(msg, msys.core.ECMESS_CTX_MESS, "none") == "")`,
			[]string{"true"}},
		{"same pair again returns 0", `msys.core.ec_message_context_set(msg, msys.core.ECMESS_CTX_MESS, "k", "v")
			report(vctx, msys.core.ec_message_context_set(msg, msys.core.ECMESS_CTX_MESS, "k", "v"),
			  msys.core.ec_message_context_set(msg, msys.core.ECMESS_CTX_MESS, "k", "w"),
			  msys.core.ec_message_context_get(msg, msys.core.ECMESS_CTX_MESS, "k"))`,
			[]string{"0", "1", "w"}},
		{"nil value returns 0", `report(vctx, msys.core.ec_message_context_set(msg, msys.core.ECMESS_CTX_MESS, "k", nil))`,
			[]string{"0"}},
		{"predefined variable", `report(vctx, msys.core.ec_message_context_get(msg, msys.core.ECMESS_CTX_MESS, "mailfrom_domain"))`,
			[]string{"example.org"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			wantReported(t, s, play(t, s, plainMsg), tc.want)
		})
	}
}

// TestBindingLookups: the binding functions answer as a Momentum whose
// configuration names every binding asked about, consistently, and log
// the missing effect once per name.
func TestBindingLookups(t *testing.T) {
	cases := []struct {
		name, lua string
		want      []string
	}{
		{"default is 0", `report(vctx, msys.core.config_get_binding_id_from_name("default"), msys.core.config_get_binding_name_from_id(0))`,
			[]string{"0", "default"}},
		{"a name keeps its id", `local a = msys.core.config_get_binding_id_from_name("test-pool-a")
			local b = msys.core.config_get_binding_id_from_name("test-pool-b")
			report(vctx, a > 0, b > a, msys.core.config_get_binding_id_from_name("test-pool-a") == a,
			  msys.core.config_get_binding_name_from_id(a), msys.core.config_get_binding_name_from_id(b))`,
			[]string{"true", "true", "true", "test-pool-a", "test-pool-b"}},
		{"unknown id", `report(vctx, msys.core.config_get_binding_name_from_id(-1), msys.core.config_get_binding_name_from_id(1000000))`,
			[]string{"nil", "nil"}},
		{"group size", `report(vctx, msys.core.config_get_binding_group_size("test-group"))`, []string{"1"}},
		{"empty name is no binding", `report(vctx, msys.core.config_get_binding_id_from_name(""), msys.core.config_get_binding_group_size(""))`,
			[]string{"-1", "0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			wantReported(t, s, play(t, s, plainMsg), tc.want)
		})
	}
	t.Run("logged once per name", func(t *testing.T) {
		// The ids live as long as the process, so the name is new to
		// each run of this test (go test -count=N).
		name := "test-once-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		s := startMsg(t, milttest.Options{}, dataScript(`msys.core.config_get_binding_id_from_name("`+name+`")
			msys.core.config_get_binding_group_size("`+name+`")`))
		for i := 0; i < 2; i++ {
			wantAccepted(t, s, play(t, s, plainMsg), nil)
		}
		if n := strings.Count(s.Logs(), "binding="+name); n != 1 {
			t.Fatalf("logged %d times, want once:\n%s", n, s.Logs())
		}
	})
}
