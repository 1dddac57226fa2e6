package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// methods are the request methods do_request accepts.
var methods = []string{"GET", "POST", "PUT", "DELETE", "HEAD"}

// response is what a finished request leaves for get_status, get_body
// and get_headers.
type response struct {
	code    int
	text    string   // reason phrase, e.g. "Not Found"
	headers []string // "Name: value" lines, sorted by name
	body    []byte
}

// Request failures scripts may want to tell apart; other failures carry
// the transport's message.
var (
	errTimeout  = errors.New("timeout")
	errCanceled = errors.New("canceled")
)

// header is one request header a script set.
type header struct{ name, value string }

// parseHeader validates a "Name: value" line for set_header.
func parseHeader(line string) (header, error) {
	name, value, ok := strings.Cut(line, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
		return header{}, fmt.Errorf("invalid header line %q (want \"Name: value\")", line)
	}
	return header{name, value}, nil
}

// checkURL accepts absolute http and https URLs only.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid url %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid url %q: want http:// or https:// with a host", raw)
	}
	return u, nil
}

// do performs one request. headers are as parseHeader returned them;
// data is nil when the script passed none.
func (l *Library) do(ctx context.Context, timeout time.Duration, method string, u *url.URL, data *string, headers []header) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if data != nil {
		body = strings.NewReader(*data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", l.opts.UserAgent)
	if data != nil {
		// libcurl's default for POSTFIELDS, which Momentum scripts expect.
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	set := map[string]bool{}
	for _, h := range headers {
		if strings.EqualFold(h.name, "Host") {
			req.Host = h.value
			continue
		}
		if key := http.CanonicalHeaderKey(h.name); !set[key] {
			req.Header.Del(key) // the script's value replaces a default
			set[key] = true
		}
		req.Header.Add(h.name, h.value)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, classify(ctx, err)
	}
	defer resp.Body.Close()
	r := &response{code: resp.StatusCode, text: strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode)))}
	for _, name := range slices.Sorted(maps.Keys(resp.Header)) {
		for _, v := range resp.Header[name] {
			r.headers = append(r.headers, name+": "+v)
		}
	}
	r.body, err = io.ReadAll(io.LimitReader(resp.Body, l.opts.MaxBody+1))
	if err != nil {
		return nil, classify(ctx, err)
	}
	if int64(len(r.body)) > l.opts.MaxBody {
		return nil, fmt.Errorf("response body exceeds %d bytes", l.opts.MaxBody)
	}
	return r, nil
}

// classify maps deadline and cancellation failures to errTimeout and
// errCanceled so scripts get a stable message.
func classify(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return errCanceled
	}
	return err
}
