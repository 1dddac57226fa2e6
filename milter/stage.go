package milter

import "strconv"

// Stage is a step of an SMTP session as the milter protocol reports it.
// Its String is the stage's name wherever one is written, in logs,
// metrics labels, traces and recordings, so those agree on the spelling;
// recordings and dashboards depend on it, so a name never changes.
type Stage uint8

// The stages in the order of a session. The zero Stage is none: a
// missing stage shows as such instead of passing for connect.
const (
	StageConnect Stage = iota + 1
	StageHelo
	StageMail
	StageRcpt
	StageData
	StageHeader
	StageEOH
	StageBody
	StageEOM
	// StageAbort is the MTA's abort of the current message (RSET, a lost
	// client), and StageClose the session's end; neither gets a reply.
	StageAbort
	StageClose
)

// String is the stage's lower-case name, e.g. "rcpt" or "eom".
func (s Stage) String() string {
	switch s {
	case StageConnect:
		return "connect"
	case StageHelo:
		return "helo"
	case StageMail:
		return "mail"
	case StageRcpt:
		return "rcpt"
	case StageData:
		return "data"
	case StageHeader:
		return "header"
	case StageEOH:
		return "eoh"
	case StageBody:
		return "body"
	case StageEOM:
		return "eom"
	case StageAbort:
		return "abort"
	case StageClose:
		return "close"
	}
	return "stage(" + strconv.Itoa(int(s)) + ")"
}
