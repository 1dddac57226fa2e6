// Package httpclient provides msys.http.client, the blocking-style HTTP
// client of Momentum policy scripts:
//
//	local c = msys.http.client.new()
//	c:set_timeout(5)
//	c:set_header("Content-Type: application/json")
//	local ok, err = c:do_request("POST", url, body)
//	local code, text = c:get_status()
//	local headers = c:parse_headers(c:get_headers())
//
// All clients of all Lua states share one pooled http.Transport owned by
// the Library. Requests follow the session's context, so a session that
// ends aborts its request. Redirects are not followed (as with libcurl's
// default); the 3xx response is returned to the script.
package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/luamilter/luamilter/luart"
)

// Defaults used when the corresponding Options field is zero.
const (
	DefaultTimeout = 30 * time.Second
	DefaultMaxBody = 10 << 20
)

// Options configures a Library.
type Options struct {
	// Timeout applies to a whole request (connect, send, read body) when
	// the script has not called set_timeout; DefaultTimeout if zero.
	Timeout time.Duration
	// MaxBody is the largest response body accepted; a larger one fails
	// the request. DefaultMaxBody if zero.
	MaxBody int64
	// InsecureSkipVerify disables TLS certificate checks. Configuration
	// only; scripts cannot change it.
	InsecureSkipVerify bool
	// RootCAs replaces the system roots when set (private CAs).
	RootCAs *x509.CertPool
	// UserAgent is sent unless the script sets its own; "luamilter" if "".
	UserAgent string
	// Log receives request failures at debug level; slog.Default() if nil.
	Log *slog.Logger
}

// Library implements luart.Library as "msys.http.client" and owns the
// shared transport. It is safe for concurrent use.
type Library struct {
	opts      Options
	log       *slog.Logger
	transport *http.Transport
	client    *http.Client
}

var _ luart.Library = (*Library)(nil)

// New returns a Library with its own connection pool.
func New(opts Options) *Library {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "luamilter"
	}
	l := &Library{opts: opts, log: opts.Log}
	if l.log == nil {
		l.log = slog.Default()
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	l.transport = &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			RootCAs:            opts.RootCAs,
			InsecureSkipVerify: opts.InsecureSkipVerify,
		},
	}
	l.client = &http.Client{
		Transport: l.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return l
}

// Name implements luart.Library.
func (l *Library) Name() string { return "msys.http.client" }

// Close drops idle pooled connections.
func (l *Library) Close() error {
	l.transport.CloseIdleConnections()
	return nil
}
