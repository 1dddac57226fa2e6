package dns

// SilentServer is silentServer for the external tests: those that run a
// script through internal/milttest, which imports this package through
// the daemon and so can't be imported by the package's own tests.
var SilentServer = silentServer
