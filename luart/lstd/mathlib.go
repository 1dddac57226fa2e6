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

// installMath replaces the math functions that differ from Lua 5.1. Unlike
// C Lua, whose rand() starts from the same seed in every process, each
// state's generator starts from a random seed until math.randomseed.
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
	set("log10", mathLog10)
	set("pow", mathPow)
	set("frexp", mathFrexp)
	set("ldexp", mathLdexp)
	set("atan2", func(L *lua.LState) int {
		L.Push(lua.LNumber(math.Atan2(checkNumber(L, 1, "atan2"), checkNumber(L, 2, "atan2"))))
		return 1
	})
	for name, fn := range math1Funcs {
		set(name, math1(name, fn))
	}
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

// cNaN returns r with C's NaN results: a NaN input is passed through
// (keeping its sign, where Go returns a fresh positive NaN) and a domain
// error gives the negative NaN glibc returns.
func cNaN(r float64, in ...float64) float64 {
	if !math.IsNaN(r) {
		return r
	}
	for _, x := range in {
		if math.IsNaN(x) {
			return x
		}
	}
	return negNaN
}

func mathFmod(L *lua.LState) int {
	x, y := checkNumber(L, 1, "fmod"), checkNumber(L, 2, "fmod")
	L.Push(lua.LNumber(cNaN(math.Mod(x, y), x, y)))
	return 1
}

// math1Funcs are the one-argument functions whose Go implementations
// match C's; they are re-registered only for Lua 5.1's argument errors.
var math1Funcs = map[string]func(float64) float64{
	"abs": math.Abs, "acos": math.Acos, "asin": math.Asin, "atan": math.Atan, "ceil": math.Ceil,
	"cos": math.Cos, "cosh": math.Cosh, "exp": math.Exp, "floor": math.Floor, "sin": math.Sin,
	"sinh": math.Sinh, "sqrt": math.Sqrt, "tan": math.Tan, "tanh": math.Tanh,
	"deg": func(x float64) float64 { return x * (180 / math.Pi) },
	"rad": func(x float64) float64 { return x * (math.Pi / 180) },
}

func math1(name string, fn func(float64) float64) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(lua.LNumber(fn(checkNumber(L, 1, name))))
		return 1
	}
}

// logC is math.Log made exact for subnormal inputs, which Go's amd64
// implementation gets wrong (log(5e-324) would be -709 instead of -744).
func logC(x float64) float64 {
	if x > 0 && x < 0x1p-1022 {
		return math.Log(x*0x1p54) - 54*math.Ln2
	}
	return cNaN(math.Log(x), x)
}

func mathLog(L *lua.LState) int {
	L.Push(lua.LNumber(logC(checkNumber(L, 1, "log"))))
	return 1
}

func mathLog10(L *lua.LState) int {
	x := checkNumber(L, 1, "log10")
	if x > 0 && x < 0x1p-1022 {
		L.Push(lua.LNumber(math.Log10(x*0x1p54) - 54*math.Log10(2)))
		return 1
	}
	L.Push(lua.LNumber(math.Log10(x)))
	return 1
}

func mathFrexp(L *lua.LState) int {
	m, e := math.Frexp(checkNumber(L, 1, "frexp"))
	L.Push(lua.LNumber(m))
	L.Push(lua.LNumber(e))
	return 2
}

func mathLdexp(L *lua.LState) int {
	x := checkNumber(L, 1, "ldexp")
	L.Push(lua.LNumber(math.Ldexp(x, checkInt(L, 2, "ldexp"))))
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
