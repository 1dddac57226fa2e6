package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/luamilter/luamilter/modules/cidr"
	"github.com/luamilter/luamilter/modules/db"
)

// dbSource loads a msys.cidr table (type='datasource') from a query on a
// configured datasource: cachename is the datasource, query the SQL,
// cidr_column and value_column the columns (defaults "cidr" and "value").
type dbSource struct {
	ds  *db.Datasources
	def cidr.Definition
}

// cidrDatasource plugs the datasources into msys.cidr.
func cidrDatasource(ds *db.Datasources) func(name string, def cidr.Definition) (cidr.Source, error) {
	return func(name string, def cidr.Definition) (cidr.Source, error) {
		if def.CacheName == "" || def.Query == "" {
			return nil, fmt.Errorf("msys.cidr %q: a datasource table needs cachename and query", name)
		}
		return &dbSource{ds: ds, def: def}, nil
	}
}

// Load runs the query (uncached: the table itself is the cache) and turns
// each row into a prefix and its value.
func (s *dbSource) Load(ctx context.Context) ([]cidr.Entry, error) {
	res, err := s.ds.QueryNoCache(ctx, s.def.CacheName, s.def.Query, db.Params{})
	if err != nil {
		return nil, err
	}
	cidrCol, valueCol := column(res.Columns, s.def.CIDRColumn, "cidr"), column(res.Columns, s.def.ValueColumn, "value")
	if cidrCol < 0 {
		return nil, fmt.Errorf("query result has no column %q", orDefault(s.def.CIDRColumn, "cidr"))
	}
	var out []cidr.Entry
	for i, row := range res.Rows {
		text, exclude := cidr.CutExclusion(strings.TrimSpace(fmt.Sprint(row[cidrCol])))
		prefixes, err := cidr.ParseSpec(text)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
		value := "1"
		if valueCol >= 0 && row[valueCol] != nil {
			value = fmt.Sprint(row[valueCol])
		}
		for _, p := range prefixes {
			out = append(out, cidr.Entry{Prefix: p, Value: value, Exclude: exclude})
		}
	}
	return out, nil
}

func column(cols []string, want, def string) int {
	want = orDefault(want, def)
	for i, c := range cols {
		if strings.EqualFold(c, want) {
			return i
		}
	}
	return -1
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
