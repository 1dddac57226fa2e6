package luart

import (
	"slices"
	"strings"
)

// Status is how luamilter answers one name of Momentum's msys surface.
type Status uint8

const (
	// Offered names are implemented by luamilter.
	Offered Status = iota + 1
	// Builtin names are Momentum helpers that add methods luamilter's
	// objects always have: require of one gives an empty table.
	Builtin
	// Lacking names have no luamilter equivalent. Scripts get a stand-in
	// that raises an error naming them, not "attempt to index a nil
	// value", so a script that only mentions one still loads.
	Lacking
)

// Namespace is one row of Surface.
type Namespace struct {
	// Name is the dotted name scripts use: "msys.pcre", "json"; "msys"
	// is the msys table itself (msys.dnsLookup, ...).
	Name   string
	Status Status
	// Package is the Go package, relative to the module, that builds an
	// Offered row. Several packages may add to one namespace, one row
	// each.
	Package string
	// Functions are, in an Offered row, the functions Package puts in the
	// namespace and, in a Lacking row, the functions of an otherwise
	// offered namespace that luamilter lacks. A Lacking row without
	// Functions is a whole library luamilter lacks.
	Functions []string
	// Why is what a Lacking function's stand-in tells the script's author.
	Why string
}

// surface is every msys namespace and function luamilter offers, and the
// Momentum ones it answers with a stand-in. It is read in this order by
// maintainers; the runtime takes its stand-ins from it, and the daemon's
// tests check it against what the configured libraries really open.
// Constants are not listed: msys.core's are coreConstants, the libraries'
// are next to their functions.
var surface = []Namespace{
	{Name: "msys", Status: Offered, Package: "luart", Functions: fields("registerModule lock unlock")},
	{Name: "msys", Status: Offered, Package: "modules/msysfuncs", Functions: fields("type parseRFC2822Addresses readfile sleep")},
	{Name: "msys", Status: Offered, Package: "modules/dns", Functions: fields("dnsLookup")},
	{Name: "msys", Status: Offered, Package: "policy", Functions: fields("runInPool config registerControl expandMacro")},

	{Name: "msys.core", Status: Offered, Package: "luart", Functions: fields("get_now_ts string_new")},
	{Name: "msys.core", Status: Offered, Package: "policy", Functions: fields(`
		accept_construct_get_message_construct ec_sockaddr_family
		ec_message_new ec_message_context_get ec_message_context_set
		config_get_binding_id_from_name config_get_binding_name_from_id config_get_binding_group_size`)},
	{Name: "msys.core", Status: Lacking, Functions: fields("io_wrapper_open"), Why: "Momentum's io wrappers (jlog, files) are not available in a milter"},
	{Name: "msys.core", Status: Lacking, Functions: fields("mail_queue_delay_domain"), Why: "a milter has no delivery queue"},
	{Name: "msys.core", Status: Lacking, Functions: fields("scheduler_for_domain"), Why: "a milter has no delivery scheduler"},
	{Name: "msys.core", Status: Lacking, Functions: fields("dns_get_domain"), Why: "use msys.dnsLookup"},

	{Name: "msys.timer", Status: Offered, Package: "policy", Functions: fields("after at every")},
	{Name: "msys.pcre", Status: Offered, Package: "modules/pcre", Functions: fields("match split replace")},
	{Name: "json", Status: Offered, Package: "modules/json", Functions: fields("decode encode new strerror")},
	{Name: "msys.base64", Status: Offered, Package: "modules/base64", Functions: fields("encode decode")},
	{Name: "msys.qp", Status: Offered, Package: "modules/qp", Functions: fields("encode decode")},
	{Name: "msys.idn", Status: Offered, Package: "modules/idn", Functions: fields("to_idn to_utf8")},
	{Name: "msys.dumper", Status: Offered, Package: "modules/dumper", Functions: fields("Dumper")},
	{Name: "msys.cidr", Status: Offered, Package: "modules/cidr", Functions: fields("define query reload")},
	{Name: "msys.http.client", Status: Offered, Package: "modules/httpclient", Functions: fields("new")},
	{Name: "msys.audit_series", Status: Offered, Package: "modules/auditseries", Functions: fields("define add count remove_item")},
	{Name: "msys.audit", Status: Offered, Package: "modules/auditseries", Functions: fields("connections receptions rejections inbound_session_count")},
	{Name: "msys.gauge_cache", Status: Offered, Package: "modules/gaugecache", Functions: fields("define inc dec get remove_item")},
	{Name: "msys.counter", Status: Offered, Package: "modules/counter", Functions: fields("open inc add read reset unlink")},
	{Name: "msys.db", Status: Offered, Package: "modules/db", Functions: fields("query fetch_row execute")},
	{Name: "msys.datasource", Status: Offered, Package: "modules/db"}, // required next to msys.db; empty

	{Name: "msys.extended.message", Status: Builtin},
	{Name: "msys.extended.vctx", Status: Builtin},
	{Name: "msys.extended.ac", Status: Builtin},
	{Name: "msys.extended.message_routing", Status: Builtin},

	// Loaded by Momentum's configuration, so scripts use them without
	// require: msys.NAME itself is the stand-in.
	{Name: "msys.adaptive", Status: Lacking},
	{Name: "msys.pbp", Status: Lacking},
	{Name: "msys.policyeditor", Status: Lacking},
	{Name: "msys.brightmail", Status: Lacking},
	{Name: "msys.clamav", Status: Lacking},
	{Name: "msys.cloudmark", Status: Lacking},
	{Name: "msys.commtouch", Status: Lacking},
	{Name: "msys.sieve", Status: Lacking},
	{Name: "msys.bounce", Status: Lacking},
	{Name: "msys.fbl", Status: Lacking},
	{Name: "curl", Status: Lacking}, // Momentum's libcurl binding; msys.http.client is luamilter's
}

// fields splits a space-separated list of names.
func fields(s string) []string { return strings.Fields(s) }

// Surface returns every msys namespace and function luamilter offers and
// the Momentum ones it lacks, one row per namespace and package. It is
// what a maintainer reads to see the whole surface, and what checks and
// documentation derive from. The rows are the caller's to change.
func Surface() []Namespace {
	out := slices.Clone(surface)
	for i := range out {
		out[i].Functions = slices.Clone(out[i].Functions)
	}
	return out
}

// lacksLibrary reports whether name is a whole library Surface marks
// Lacking.
func lacksLibrary(name string) bool {
	return slices.ContainsFunc(surface, func(ns Namespace) bool {
		return ns.Name == name && ns.Status == Lacking && len(ns.Functions) == 0
	})
}

// isBuiltin reports whether name is a helper Surface marks Builtin.
func isBuiltin(name string) bool {
	return slices.ContainsFunc(surface, func(ns Namespace) bool { return ns.Name == name && ns.Status == Builtin })
}

// lackingFunctions returns the functions of namespace that Surface marks
// Lacking, each with what its stand-in says.
func lackingFunctions(namespace string) map[string]string {
	out := map[string]string{}
	for _, ns := range surface {
		if ns.Name == namespace && ns.Status == Lacking {
			for _, fn := range ns.Functions {
				out[fn] = ns.Why
			}
		}
	}
	return out
}
