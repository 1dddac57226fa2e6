package db

import (
	"context"
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
)

const libName = "msys.db"

// NewLibrary returns msys.db querying ds.
func NewLibrary(ds *Datasources) luart.Library {
	l := &binding{ds: ds}
	return luart.Funcs(libName, map[string]lua.LGFunction{"query": l.luaQuery, "fetch_row": l.luaFetchRow, "execute": l.luaExecute})
}

// NewDatasourceLibrary returns msys.datasource, which Momentum scripts
// require next to msys.db: it is empty, as datasources come from the
// configuration.
func NewDatasourceLibrary() luart.Library { return luart.Funcs("msys.datasource", nil) }

// binding is msys.db's functions, all on one set of datasources.
type binding struct{ ds *Datasources }

// call is one parsed query(cache, sql[, params[, opts]]) call.
type call struct {
	cache, sql string
	params     Params
	nocache    bool
	raise      bool
}

func parseCall(L *lua.LState, fn string) (c call, err error) {
	c.cache = L.CheckString(1)
	c.sql = L.CheckString(2)
	c.raise = true
	if opts, ok := L.Get(4).(*lua.LTable); ok {
		c.nocache = lua.LVAsBool(opts.RawGetString("nocache"))
		if v := opts.RawGetString("raise_error"); v != lua.LNil {
			c.raise = lua.LVAsBool(v)
		}
	} else if L.Get(4) != lua.LNil {
		return c, fmt.Errorf("%s.%s: bad argument #4 (table expected, got %s)", libName, fn, L.Get(4).Type())
	}
	switch pt := L.Get(3).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		if c.params, err = luaParams(pt); err != nil {
			return c, fmt.Errorf("%s.%s: %w", libName, fn, err)
		}
	default:
		return c, fmt.Errorf("%s.%s: bad argument #3 (table expected, got %s)", libName, fn, pt.Type())
	}
	return c, nil
}

// luaParams splits a Lua params table into positional and named values.
func luaParams(t *lua.LTable) (Params, error) {
	var p Params
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		gv, e := goValue(v)
		if e != nil {
			err = fmt.Errorf("parameter %s: %w", k.String(), e)
			return
		}
		switch k := k.(type) {
		case lua.LNumber:
			i := int(k)
			if float64(i) != float64(k) || i < 1 || i > 10000 {
				err = fmt.Errorf("parameter index %s: want 1..10000", k.String())
				return
			}
			for len(p.Positional) < i {
				p.Positional = append(p.Positional, nil)
			}
			p.Positional[i-1] = gv
		case lua.LString:
			if p.Named == nil {
				p.Named = make(map[string]any)
			}
			p.Named[string(k)] = gv
		default:
			err = fmt.Errorf("parameter key of type %s", k.Type())
		}
	})
	return p, err
}

func goValue(v lua.LValue) (any, error) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), nil
	case lua.LNumber:
		if f := float64(v); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return float64(v), nil
	case lua.LBool:
		return bool(v), nil
	default:
		return nil, fmt.Errorf("cannot bind a %s", v.Type())
	}
}

func luaValue(v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	default:
		return lua.LString(fmt.Sprint(v))
	}
}

// rowTable builds the table of one row: keyed by column name, or by
// ordinal for columns without one. NULL columns are absent (nil).
func rowTable(L *lua.LState, res *Result, row []any) *lua.LTable {
	t := L.CreateTable(0, len(row))
	for i, v := range row {
		if name := res.Columns[i]; name != "" {
			t.RawSetString(name, luaValue(v))
		} else {
			t.RawSetInt(i+1, luaValue(v))
		}
	}
	return t
}

// fail reports err as the call asked: raised, or as nil/false plus message.
func fail(L *lua.LState, c call, first lua.LValue, err error) int {
	if c.raise {
		L.RaiseError("%s", err.Error())
	}
	L.Push(first)
	L.Push(lua.LString(err.Error()))
	return 2
}

func (l *binding) run(L *lua.LState, fn string) (*Result, call, error) {
	c, err := parseCall(L, fn)
	if err != nil {
		L.RaiseError("%s", err.Error()) // script mistakes always raise
	}
	var res *Result
	luactx.Wait(L, func(ctx context.Context) { res, err = l.ds.query(ctx, c.cache, c.sql, c.params, c.nocache) })
	if err != nil {
		err = fmt.Errorf("%s.%s: %w", libName, fn, err)
	}
	return res, c, err
}

// luaQuery implements query(cache, sql[, params[, {nocache, raise_error}]])
// → row iterator, or nil, err.
func (l *binding) luaQuery(L *lua.LState) int {
	res, c, err := l.run(L, "query")
	if err != nil {
		return fail(L, c, lua.LNil, err)
	}
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(res.Rows) {
			L.Push(lua.LNil)
			return 1
		}
		i++
		L.Push(rowTable(L, res, res.Rows[i-1]))
		return 1
	}))
	return 1
}

// luaFetchRow implements fetch_row(...) → first row, nil, or nil, err.
func (l *binding) luaFetchRow(L *lua.LState) int {
	res, c, err := l.run(L, "fetch_row")
	if err != nil {
		return fail(L, c, lua.LNil, err)
	}
	if len(res.Rows) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(rowTable(L, res, res.Rows[0]))
	return 1
}

// luaExecute implements execute(...) → true, or false, err.
func (l *binding) luaExecute(L *lua.LState) int {
	c, err := parseCall(L, "execute")
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	luactx.Wait(L, func(ctx context.Context) { _, err = l.ds.Exec(ctx, c.cache, c.sql, c.params) })
	if err != nil {
		return fail(L, c, lua.LFalse, fmt.Errorf("%s.execute: %w", libName, err))
	}
	L.Push(lua.LTrue)
	return 1
}
