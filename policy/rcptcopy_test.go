package policy

import "testing"

func TestMergeContext(t *testing.T) {
	base := map[string]string{"k": "base", "gone": "x"}
	cases := []struct {
		name   string
		copies []map[string]string
		want   map[string]string
	}{
		{"agreed value stays", []map[string]string{{"k": "base", "gone": "x", "new": "v"}, {"k": "base", "gone": "x", "new": "v"}},
			map[string]string{"k": "base", "gone": "x", "new": "v"}},
		{"differing value keeps the base", []map[string]string{{"k": "a", "gone": "x"}, {"k": "b", "gone": "x"}},
			map[string]string{"k": "base", "gone": "x"}},
		{"value only one copy set is dropped", []map[string]string{{"k": "base", "gone": "x", "new": "v"}, {"k": "base", "gone": "x"}},
			map[string]string{"k": "base", "gone": "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var copies []*rcptCopy
			for _, m := range tc.copies {
				copies = append(copies, &rcptCopy{mess: m})
			}
			copies = append(copies, &rcptCopy{mess: map[string]string{"k": "dropped"}, dropped: true})
			got := mergeContext(base, copies)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
