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
	benchChunk(b, `s = string.rep("a", 200000)`, `return (s:gsub("a", "b"))`)
}

// BenchmarkLuaGmatch measures a gmatch loop in Lua over 100k matches.
func BenchmarkLuaGmatch(b *testing.B) {
	benchChunk(b, `s = string.rep("word ", 100000)`, `local n = 0 for w in s:gmatch("%a+") do n = n + 1 end return n`)
}

// benchChunk runs setup once, then times the chunk code, which returns one
// value.
func benchChunk(b *testing.B, setup, code string) {
	L := newState(b, Limits{})
	if err := L.DoString(setup); err != nil {
		b.Fatal(err)
	}
	fn, err := L.LoadString(code)
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
