package lpattern

import (
	"strings"
	"testing"
)

func BenchmarkFind100KB(b *testing.B) {
	s := strings.Repeat("lorem ipsum dolor sit amet ", 4000) + "id=12345;"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if start, _, _, err := Find(s, "id=(%d+);", 1, false, Limits{}); err != nil || start == 0 {
			b.Fatalf("Find = %d, %v", start, err)
		}
	}
}

func BenchmarkGsub100kReplacements(b *testing.B) {
	s := strings.Repeat("ab", 100_000)
	for b.Loop() {
		if _, n, err := Gsub(s, "a", "%0x", -1, Limits{}); err != nil || n != 100_000 {
			b.Fatalf("Gsub = %d, %v", n, err)
		}
	}
}

func BenchmarkGmatch100kMatches(b *testing.B) {
	s := strings.Repeat("word ", 100_000)
	for b.Loop() {
		it, n := Gmatch(s, "%a+", Limits{}), 0
		for {
			_, ok, err := it.Next()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			n++
		}
		if n != 100_000 {
			b.Fatalf("%d matches", n)
		}
	}
}

// BenchmarkLuaGsub measures string.gsub as scripts call it.
func BenchmarkLuaGsub(b *testing.B) {
	L := newState(b, Limits{})
	if err := L.DoString(`s = string.rep("a", 200000)`); err != nil {
		b.Fatal(err)
	}
	fn, err := L.LoadString(`return (s:gsub("a", "b"))`)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		L.Push(fn)
		if err := L.PCall(0, 1, nil); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
	}
}

// BenchmarkLuaGmatch measures a gmatch loop in Lua over 100k matches.
func BenchmarkLuaGmatch(b *testing.B) {
	L := newState(b, Limits{})
	if err := L.DoString(`s = string.rep("word ", 100000)`); err != nil {
		b.Fatal(err)
	}
	fn, err := L.LoadString(`local n = 0 for w in s:gmatch("%a+") do n = n + 1 end return n`)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		L.Push(fn)
		if err := L.PCall(0, 1, nil); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
	}
}
