package lstd

import (
	crand "crypto/rand"
	"encoding/binary"
	"math"
	"math/rand/v2"

	lua "github.com/yuin/gopher-lua"
)

// negNaN is the NaN x87/SSE arithmetic produces (sign bit set); glibc's
// fmod, log and pow return it, and tostring shows it as "-nan".
var negNaN = math.Float64frombits(0xFFF8000000000000)

// randState is one Lua state's generator for math.random, so states never
// share or lock a generator.
type randState struct {
	r *rand.Rand
}

func newSeededRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

func installMath(L *lua.LState, tb *lua.LTable) {
	var seed [8]byte
	_, _ = crand.Read(seed[:]) // never fails on Linux; a zero seed is still usable
	rs := &randState{r: newSeededRand(binary.LittleEndian.Uint64(seed[:]))}
	set := func(name string, fn lua.LGFunction) { tb.RawSetString(name, L.NewFunction(fn)) }
	set("random", rs.random)
	set("randomseed", rs.randomseed)
	set("fmod", mathFmod)
	set("mod", mathFmod) // Lua 5.0 name kept by 5.1 (LUA_COMPAT_MOD)
	set("max", mathMax)
	set("min", mathMin)
	set("modf", mathModf)
	set("log", mathLog)
	set("pow", mathPow)
	tb.RawSetString("huge", lua.LNumber(math.Inf(1)))
}

// random follows Lua 5.1's math_random argument rules.
func (rs *randState) random(L *lua.LState) int {
	r := rs.r.Float64()
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := int32(checkInt(L, 1, "random"))
		if u < 1 {
			argError(L, 1, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l := int32(checkInt(L, 1, "random"))
		u := int32(checkInt(L, 2, "random"))
		if l > u {
			argError(L, 2, "random", "interval is empty")
		}
		// C computes u-l+1 in int arithmetic, which wraps.
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		raise(L, "wrong number of arguments")
	}
	return 1
}

func (rs *randState) randomseed(L *lua.LState) int {
	rs.r = newSeededRand(uint64(int64(checkInt(L, 1, "randomseed"))))
	return 0
}

// cNaN returns r, replacing a NaN produced from non-NaN inputs with the
// negative NaN glibc returns for domain errors.
func cNaN(r float64, in ...float64) float64 {
	if !math.IsNaN(r) {
		return r
	}
	for _, x := range in {
		if math.IsNaN(x) {
			return r
		}
	}
	return negNaN
}

func mathFmod(L *lua.LState) int {
	x, y := checkNumber(L, 1, "fmod"), checkNumber(L, 2, "fmod")
	L.Push(lua.LNumber(cNaN(math.Mod(x, y), x, y)))
	return 1
}

func mathLog(L *lua.LState) int {
	x := checkNumber(L, 1, "log")
	L.Push(lua.LNumber(cNaN(math.Log(x), x)))
	return 1
}

func mathPow(L *lua.LState) int {
	x, y := checkNumber(L, 1, "pow"), checkNumber(L, 2, "pow")
	L.Push(lua.LNumber(cNaN(math.Pow(x, y), x, y)))
	return 1
}

// mathModf returns (±inf, 0) for infinities like C's modf; Go's gives NaN.
func mathModf(L *lua.LState) int {
	x := checkNumber(L, 1, "modf")
	ip, fp := math.Modf(x)
	if math.IsInf(x, 0) {
		fp = 0
	}
	L.Push(lua.LNumber(ip))
	L.Push(lua.LNumber(fp))
	return 2
}

func mathMax(L *lua.LState) int {
	m := checkNumber(L, 1, "max")
	for i := 2; i <= L.GetTop(); i++ {
		if d := checkNumber(L, i, "max"); d > m {
			m = d
		}
	}
	L.Push(lua.LNumber(m))
	return 1
}

func mathMin(L *lua.LState) int {
	m := checkNumber(L, 1, "min")
	for i := 2; i <= L.GetTop(); i++ {
		if d := checkNumber(L, i, "min"); d < m {
			m = d
		}
	}
	L.Push(lua.LNumber(m))
	return 1
}
