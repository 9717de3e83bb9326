// errors.go - the SDK's errors, shaped for errors.Is / errors.As: the runtime's error responses
// are *RuntimeError values (compare with ErrDenied, ErrNotFound, ...), everything else wraps
// one of the kind sentinels ErrTransport, ErrProtocol, ErrInvalidArgument. The kinds are the C
// SDK's ELASTOS_ERR_RUNTIME/TRANSPORT/PROTOCOL/INVALID and the Rust SDK's Error variants.
package elastos

import (
	"errors"
	"fmt"
)

// The kinds of failure that are not runtime error responses. Errors of the SDK wrap exactly one
// of them (errors.Is(err, ErrTransport), ...).
var (
	// ErrTransport: the channel failed, is missing (not running under elastos) or is unusable
	// after an earlier failure; every later call fails too.
	ErrTransport = errors.New("runtime channel")
	// ErrProtocol: the response was malformed, oversized, of the wrong type or carried the
	// wrong id (after a wrong id or an over-long line the channel is unusable).
	ErrProtocol = errors.New("malformed response")
	// ErrInvalidArgument: a bad argument, refused locally without sending anything.
	ErrInvalidArgument = errors.New("invalid argument")
)

// RuntimeError is the runtime's error response: Code is one of bad_request, denied,
// invalid_token, expired, revoked, not_found, limit, internal, unsupported, or a newer code
// (passed on as sent); Message is the runtime's explanation.
type RuntimeError struct {
	Code    string
	Message string
}

func (e *RuntimeError) Error() string { return e.Message + " (" + e.Code + ")" }

// Is makes errors.Is(err, ErrDenied) true for any runtime error with code "denied" (and so on
// for the other code sentinels): a target *RuntimeError without a Message matches by Code.
func (e *RuntimeError) Is(target error) bool {
	t, ok := target.(*RuntimeError)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is, one per documented code.
var (
	ErrBadRequest   = &RuntimeError{Code: "bad_request"}
	ErrDenied       = &RuntimeError{Code: "denied"}
	ErrInvalidToken = &RuntimeError{Code: "invalid_token"}
	ErrExpired      = &RuntimeError{Code: "expired"}
	ErrRevoked      = &RuntimeError{Code: "revoked"}
	ErrNotFound     = &RuntimeError{Code: "not_found"}
	ErrLimit        = &RuntimeError{Code: "limit"}
	ErrInternal     = &RuntimeError{Code: "internal"}
	ErrUnsupported  = &RuntimeError{Code: "unsupported"}
)

// Code is the runtime's error code when err is (or wraps) a runtime error response, else "".
func Code(err error) string {
	var re *RuntimeError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}

func transportErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrTransport, fmt.Sprintf(format, a...))
}

func protocolErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, a...))
}

func invalidErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, a...))
}
