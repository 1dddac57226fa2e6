package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// manifest is a TOML list of messages with their envelope and what the
// policy must do with each: `luamilter test --manifest FILE` as a CI step.
type manifest struct {
	Messages []manifestEntry `toml:"message"`
}

// manifestEntry is one [[message]]. Envelope fields left out take the
// command line's values; expectations left out are not checked.
type manifestEntry struct {
	Name       string            `toml:"name"`
	File       string            `toml:"file"` // relative to the manifest
	Text       string            `toml:"text"` // the message itself, instead of file
	ClientIP   string            `toml:"client_ip"`
	ClientName string            `toml:"client_name"`
	Helo       string            `toml:"helo"`
	From       *string           `toml:"from"`
	Rcpts      []string          `toml:"rcpts"`
	QueueID    string            `toml:"queue_id"`
	Macros     map[string]string `toml:"macros"`
	Expect     string            `toml:"expect"`
	Reply      *string           `toml:"reply"`
	Mods       *[]string         `toml:"modifications"`
}

// expectation is what a message's outcome must be.
type expectation struct {
	Action string    // accept, reject, tempfail, discard or quarantine; "" unchecked
	Reply  *string   // the final reply, e.g. "550 5.7.1 text"
	Mods   *[]string // the modifications, in order, as the trace prints them
}

func (e expectation) empty() bool { return e.Action == "" && e.Reply == nil && e.Mods == nil }

var expectActions = []string{"accept", "reject", "tempfail", "discard", "quarantine"}

func checkAction(a string) error {
	for _, ok := range expectActions {
		if a == ok {
			return nil
		}
	}
	return fmt.Errorf("expected action %q: want one of %s", a, strings.Join(expectActions, ", "))
}

// loadManifest reads a manifest and its message files, reporting every
// problem at once with the entry it is in.
func loadManifest(path string, base testCase) ([]testCase, error) {
	var m manifest
	md, err := toml.DecodeFile(path, &m)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	var problems []string
	for _, k := range md.Undecoded() {
		problems = append(problems, fmt.Sprintf("unknown key %q", k.String()))
	}
	dir := filepath.Dir(path)
	var out []testCase
	for i, e := range m.Messages {
		where := fmt.Sprintf("[[message]] #%d", i+1)
		c := base
		c.Name = e.Name
		switch {
		case e.File != "" && e.Text != "":
			problems = append(problems, where+": give file or text, not both")
			continue
		case e.File != "":
			p := e.File
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			c.Message = b
			if c.Name == "" {
				c.Name = e.File
			}
		case e.Text != "":
			c.Message = []byte(e.Text)
		}
		if c.Name == "" {
			c.Name = where
		}
		c.Tx = base.Tx
		c.Tx.Macros = map[string]string{}
		for k, v := range base.Tx.Macros {
			c.Tx.Macros[k] = v
		}
		for k, v := range e.Macros {
			c.Tx.Macros[k] = v
		}
		setIf(&c.Tx.ClientIP, e.ClientIP)
		setIf(&c.Tx.ClientName, e.ClientName)
		setIf(&c.Tx.Helo, e.Helo)
		setIf(&c.Tx.QueueID, e.QueueID)
		if e.From != nil {
			c.Tx.From = *e.From
		}
		if e.Rcpts != nil {
			c.Tx.Rcpts = e.Rcpts
		}
		if e.Expect != "" {
			if err := checkAction(e.Expect); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			c.Expect.Action = e.Expect
		}
		if e.Reply != nil {
			c.Expect.Reply = e.Reply
		}
		if e.Mods != nil {
			c.Expect.Mods = e.Mods
		}
		out = append(out, c)
	}
	if len(m.Messages) == 0 {
		problems = append(problems, "no [[message]] entries")
	}
	if problems != nil {
		return nil, fmt.Errorf("manifest %s:\n  %s", path, strings.Join(problems, "\n  "))
	}
	return out, nil
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
