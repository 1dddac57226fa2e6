// Package milttest starts a real luamilter milter server for tests: the
// scripts are compiled by luart, run by the policy engine and served by
// the milter package on a unix socket, all built by daemon.Stack from a
// configuration, exactly as `luamilter serve` builds them. With
// Options.Direct the same server plays transactions in process instead.
package milttest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/logbuf"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// Options tune a test server; a zero field keeps serve's default
// (daemon.Default), so a test server caps sessions and message size as
// serve does.
type Options struct {
	OnError        policy.OnError
	Timeout        time.Duration // per callout; default 2s
	Libraries      []luart.Library
	MaxSessions    int
	MaxMessageSize int64
	SpoolThreshold int64
	NegotiateAll   bool
	Brake          *luart.Brake
	Regex          policy.Regex // engine of msg:body_match and friends
	ReadTimeout    time.Duration
	IdleTimeout    time.Duration
	InjectRelay    string // HOST:PORT msg:inject submits to
	// Modules builds the msys.* libraries from the configuration, as
	// serve does. Without it only Libraries are there: most tests bring
	// the few they need, or fakes.
	Modules bool
	// Direct plays transactions in process (milter.Server.PlayDirect)
	// instead of over a socket: the same server, adapter and engine,
	// without the wire. A test of the policy wants it; a test of the
	// wire (negotiation, packets, timeouts, slots held by connections)
	// does not, and Client is not there to hand-drive a session.
	Direct bool
	// DryRun runs every module in shadow mode (the dry_run setting).
	DryRun bool
}

// Server is a running milter server with its log.
type Server struct {
	Socket string // unix socket path; empty when Direct
	Dir    string // temp dir holding scripts, socket and spool
	Engine *policy.Engine
	Milter *milter.Server
	logs   *logbuf.Buffer
	t      testing.TB
}

// Start writes each script source to a file and serves them.
func Start(t testing.TB, opts Options, scripts ...string) *Server {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, src := range scripts {
		p := filepath.Join(dir, "script"+string(rune('a'+i))+".lua")
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	s, err := StartFiles(t, dir, opts, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartFiles serves script files; it returns the load error, if any.
func StartFiles(t testing.TB, dir string, opts Options, paths ...string) (*Server, error) {
	return start(t, dir, opts, nil, paths)
}

// Logs returns everything the server logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// Play runs one transaction against the server.
func (s *Server) Play(tx milter.Transaction) (*milter.Trace, error) {
	if s.Socket == "" {
		return s.Milter.PlayDirect(tx)
	}
	return milter.Play("unix", s.Socket, tx)
}

// Client returns a go-milter client for hand-driven sessions, offering
// what Postfix offers.
func (s *Server) Client() *gomilter.Client {
	if s.Socket == "" {
		s.t.Fatal("milttest: a Direct server has no socket to drive by hand")
	}
	return gomilter.NewClient("unix", s.Socket, gomilter.WithReadTimeout(10*time.Second), gomilter.WithWriteTimeout(10*time.Second))
}
