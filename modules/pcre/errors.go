package pcre

import "github.com/dlclark/regexp2/syntax"

// Error numbers returned to Lua as errnum. Codes below 100 are regexp2
// syntax errors in the order regexp2 declares them; the rest come from the
// PCRE-to-regexp2 rewrite.
const (
	codeOther         = 99
	codeBadName       = 101
	codeUndefinedName = 102
	codeDuplicateName = 103
	codeBadReference  = 104
)

var syntaxCodes = []syntax.ErrorCode{
	syntax.ErrInternalError, syntax.ErrUnterminatedComment, syntax.ErrInvalidCharRange,
	syntax.ErrInvalidRepeatSize, syntax.ErrInvalidUTF8, syntax.ErrCaptureGroupOutOfRange,
	syntax.ErrUnexpectedParen, syntax.ErrMissingParen, syntax.ErrMissingBrace,
	syntax.ErrInvalidRepeatOp, syntax.ErrMissingRepeatArgument, syntax.ErrConditionalExpression,
	syntax.ErrTooManyAlternates, syntax.ErrUnrecognizedGrouping, syntax.ErrInvalidGroupName,
	syntax.ErrCapNumNotZero, syntax.ErrUndefinedBackRef, syntax.ErrUndefinedNameRef,
	syntax.ErrAlternationCantCapture, syntax.ErrAlternationCantHaveComment,
	syntax.ErrMalformedReference, syntax.ErrUndefinedReference, syntax.ErrIllegalEndEscape,
	syntax.ErrMalformedSlashP, syntax.ErrIncompleteSlashP, syntax.ErrUnknownSlashP,
	syntax.ErrUnrecognizedEscape, syntax.ErrMissingControl, syntax.ErrUnrecognizedControl,
	syntax.ErrTooFewHex, syntax.ErrInvalidHex, syntax.ErrMalformedNameRef,
	syntax.ErrBadClassInCharRange, syntax.ErrUnterminatedBracket,
	syntax.ErrSubtractionMustBeLast, syntax.ErrReversedCharRange,
}

func syntaxCode(c syntax.ErrorCode) int {
	for i, k := range syntaxCodes {
		if k == c {
			return i + 1
		}
	}
	return codeOther
}
