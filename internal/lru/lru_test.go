package lru

import (
	"fmt"
	"sync"
	"testing"
)

// op is one step of a scripted cache session: a put, or a get with the
// result it must give.
type op struct {
	put     bool
	key     string
	val     int
	want    int
	wantOK  bool
	invalid bool // get with a validity check that rejects the value
}

func TestCache(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		ops     []op
		wantLen int
	}{
		{
			name:    "miss on empty",
			max:     2,
			ops:     []op{{key: "a"}},
			wantLen: 0,
		},
		{
			name:    "hit after put",
			max:     2,
			ops:     []op{{put: true, key: "a", val: 1}, {key: "a", want: 1, wantOK: true}},
			wantLen: 1,
		},
		{
			name: "put replaces",
			max:  2,
			ops: []op{
				{put: true, key: "a", val: 1}, {put: true, key: "a", val: 2},
				{key: "a", want: 2, wantOK: true},
			},
			wantLen: 1,
		},
		{
			name: "oldest evicted",
			max:  2,
			ops: []op{
				{put: true, key: "a", val: 1}, {put: true, key: "b", val: 2}, {put: true, key: "c", val: 3},
				{key: "a"}, {key: "b", want: 2, wantOK: true}, {key: "c", want: 3, wantOK: true},
			},
			wantLen: 2,
		},
		{
			name: "get refreshes recency",
			max:  2,
			ops: []op{
				{put: true, key: "a", val: 1}, {put: true, key: "b", val: 2},
				{key: "a", want: 1, wantOK: true},
				{put: true, key: "c", val: 3},
				{key: "b"}, {key: "a", want: 1, wantOK: true},
			},
			wantLen: 2,
		},
		{
			name: "replacing put refreshes recency",
			max:  2,
			ops: []op{
				{put: true, key: "a", val: 1}, {put: true, key: "b", val: 2},
				{put: true, key: "a", val: 10}, {put: true, key: "c", val: 3},
				{key: "b"}, {key: "a", want: 10, wantOK: true},
			},
			wantLen: 2,
		},
		{
			name: "invalid value dropped",
			max:  2,
			ops: []op{
				{put: true, key: "a", val: 1},
				{key: "a", invalid: true},
				{key: "a"},
			},
			wantLen: 0,
		},
		{
			name:    "zero bound keeps nothing",
			max:     0,
			ops:     []op{{put: true, key: "a", val: 1}, {key: "a"}},
			wantLen: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string, int](tt.max)
			for i, o := range tt.ops {
				if o.put {
					c.Put(o.key, o.val)
					continue
				}
				var got int
				var ok bool
				if o.invalid {
					got, ok = c.GetValid(o.key, func(int) bool { return false })
				} else {
					got, ok = c.Get(o.key)
				}
				if got != o.want || ok != o.wantOK {
					t.Errorf("op %d: get %q = %d, %v; want %d, %v", i, o.key, got, ok, o.want, o.wantOK)
				}
			}
			if n := c.Len(); n != tt.wantLen {
				t.Errorf("Len = %d, want %d", n, tt.wantLen)
			}
		})
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := New[string, int](16)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				k := fmt.Sprint((g + i) % 32)
				c.Put(k, i)
				c.Get(k)
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n != 16 {
		t.Errorf("Len = %d, want 16", n)
	}
}
