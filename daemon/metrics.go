package daemon

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// metrics are the daemon's Prometheus collectors, in a private registry.
type metrics struct {
	reg      *prometheus.Registry
	messages *prometheus.CounterVec
	callouts *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	reloads  *prometheus.CounterVec
	shadow   *prometheus.CounterVec
	verdicts *prometheus.CounterVec
	findings *prometheus.CounterVec
}

// newMetrics registers every collector. The gauges read d when scraped.
func newMetrics(d *Daemon) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "luamilter_messages_total",
		Help: "Messages that reached end of message, by the final action the MTA was told (accept, reject, tempfail, discard).",
	}, []string{"action"})
	m.callouts = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "luamilter_callout_duration_seconds",
		Help:    "Time spent in one callout of one module.",
		Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"module", "callout"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "luamilter_script_errors_total",
		Help: "Callouts that ended in a script error, timeout or resource limit.",
	}, []string{"module", "callout"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "luamilter_reloads_total",
		Help: "Reloads of the scripts, by result (success, failure).",
	}, []string{"result"})
	m.shadow = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "luamilter_dry_run_actions_total",
		Help: "Verdicts and message edits of dry-run modules that were logged but not applied.",
	}, []string{"module", "callout", "action"})
	m.verdicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "luamilter_verdicts_total",
		Help: "Answers other than continue, by SMTP stage (connect, helo, mail, rcpt, data, eom) and action; eom counts accepts too.",
	}, []string{"stage", "action"})
	m.findings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "luamilter_script_findings_total",
		Help: "Likely misconfigurations found in the scripts at start and at each reload (as `luamilter check` reports them), by kind.",
	}, []string{"kind"})
	m.findings.WithLabelValues("unknown_callout")
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r)
	}
	for _, a := range []milter.Action{milter.Accept, milter.Reject, milter.TempFail, milter.Discard} {
		m.messages.WithLabelValues(a.String())
	}
	m.reg.MustRegister(m.messages, m.callouts, m.errors, m.reloads, m.shadow, m.verdicts, m.findings,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "luamilter_sessions_open", Help: "Milter sessions being served now.",
		}, func() float64 { return float64(d.srv.OpenSessions()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "luamilter_sessions_total", Help: "Milter sessions started since the daemon began.",
		}, func() float64 { return float64(d.srv.TotalSessions()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "luamilter_generation", Help: "Number of the script generation new sessions get (1 at start, +1 per successful reload).",
		}, func() float64 { return float64(d.eng.Generation()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "luamilter_lua_states_idle", Help: "Idle threads of the current generation's Lua state kept for reuse.",
		}, func() float64 { return float64(d.eng.Runtime().PoolStats().Idle) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "luamilter_lua_states_in_use", Help: "Threads of the current generation's Lua state in use: sessions running Lua or waiting in a library call now, and the scheduler thread that runs init, deinit and timers.",
		}, func() float64 { return float64(d.eng.Runtime().PoolStats().InUse) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "luamilter_store_entries", Help: "Counter keys held in process (msys.audit_series, gauge_cache, counter); 0 with Redis.",
		}, func() float64 { return float64(d.stack.Modules().Store.Stats().Entries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "luamilter_store_evictions_total", Help: "In-process counter keys dropped because their series or cache was full.",
		}, func() float64 { return float64(d.stack.Modules().Store.Stats().Evictions) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "luamilter_store_errors_total", Help: "Counter store operations that failed (Redis unreachable or slow).",
		}, func() float64 { return float64(d.stack.Modules().Store.Stats().Errors) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "luamilter_lua_thread_waits_total", Help: "Times a session found every Lua thread in use (lua_threads) and waited for one.",
		}, func() float64 { return float64(d.stack.ThreadWaits().Count()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "luamilter_lua_thread_wait_seconds_total", Help: "Time sessions spent waiting for a Lua thread, in total.",
		}, func() float64 { return d.stack.ThreadWaits().Time().Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "luamilter_lua_threads_max", Help: "The current generation's bound on Lua threads in use (lua_threads).",
		}, func() float64 { return float64(d.eng.Runtime().PoolStats().Max) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "luamilter_lua_states_created", Help: "Threads made on the current generation's Lua state (a new generation starts over).",
		}, func() float64 { return float64(d.eng.Runtime().PoolStats().Created) }),
	)
	return m
}

// observe hooks the engine's observers to the collectors.
func (m *metrics) observe(cfg *policy.Config) {
	cfg.Observer = func(s policy.Summary) {
		action := s.Verdict.Action
		if action == milter.Continue {
			action = milter.Accept
		}
		m.messages.WithLabelValues(action.String()).Inc()
	}
	// The histogram of each module and callout is looked up once: the
	// observer runs for every callout, and the label lookup cost more
	// than the observation.
	var mu sync.RWMutex
	hists := map[calloutKey]prometheus.Observer{}
	cfg.CalloutObserver = func(module, callout string, d time.Duration, err error) {
		k := calloutKey{module, callout}
		mu.RLock()
		h, ok := hists[k]
		mu.RUnlock()
		if !ok {
			h = m.callouts.WithLabelValues(module, callout)
			mu.Lock()
			hists[k] = h
			mu.Unlock()
		}
		h.Observe(d.Seconds())
		if err != nil {
			m.errors.WithLabelValues(module, callout).Inc()
		}
	}
	cfg.ShadowObserver = func(module, callout, action string) {
		m.shadow.WithLabelValues(module, callout, action).Inc()
	}
}

// calloutKey names a callout of a module, for the observer's cache.
type calloutKey struct{ module, callout string }

// handler serves /metrics and /healthz, and with pprof Go's profiles.
func (m *metrics) handler(d *Daemon, pprofOn bool) http.Handler {
	mux := http.NewServeMux()
	if pprofOn {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if d.stopping.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "stopping: %d session(s) open\n", d.srv.OpenSessions())
			return
		}
		fmt.Fprintf(w, "ok generation %d, %d session(s) open\n", d.eng.Generation(), d.srv.OpenSessions())
	})
	return mux
}
