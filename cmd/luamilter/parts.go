package main

import (
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/policy"
)

// addStandardParts wires the dialect translator, the exact Lua 5.1
// built-ins and the msys.* libraries into a runtime configuration.
func addStandardParts(cfg *luart.Config) {
	cfg.Libraries = append(cfg.Libraries, policy.CoreLibrary())
}
