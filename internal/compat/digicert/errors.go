package digicert

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// apiError is an error as the mPKI API renders it:
// {"error": {"code": "...", "message": "..."}}, with "field" added for
// validation errors (the OpenAPI document's ErrorResponseWithField).
type apiError struct {
	status     int
	retryAfter int    // seconds; sent as Retry-After when set
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, message string) *apiError {
	return &apiError{status: status, Code: code, Message: message}
}

// fieldErr is a 400 naming the request field at fault.
func fieldErr(field, code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...), Field: field}
}

// toAPI maps Signet's domain errors onto the vendor's codes and statuses,
// in this one place. DigiCert's own codes are snake_case ("no_access" in the
// seed); Signet's stable codes already are, so the specific code is kept
// for everything but authentication and authorization, where the vendor's
// generic "unauthorized" / "no_access" are what clients test for.
func toAPI(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	pe := problem.As(err)
	if pe == nil {
		// A protocol object changed or vanished under a concurrent request.
		switch {
		case errors.Is(err, store.ErrNotFound):
			return apiErr(http.StatusNotFound, "not_found", "the object no longer exists")
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrDuplicate):
			return apiErr(http.StatusConflict, "conflict", "the object was changed by another request; retry")
		}
		return nil
	}
	e := &apiError{Code: pe.Code, Message: pe.Message}
	if len(pe.Violations) > 0 {
		v := pe.Violations[0]
		e.Field = v.Field
		if f, ok := vendorFields[v.Field]; ok {
			e.Field = f
		}
		msgs := make([]string, 0, len(pe.Violations))
		for _, v := range pe.Violations {
			msgs = append(msgs, v.Field+": "+v.Message)
		}
		e.Message = pe.Message + ": " + strings.Join(msgs, "; ")
	}
	switch pe.Kind {
	case problem.KindInvalid:
		e.status = http.StatusBadRequest
	case problem.KindNotFound:
		e.status = http.StatusNotFound
	case problem.KindConflict:
		e.status = http.StatusConflict
	case problem.KindUnauthorized:
		e.status, e.Code = http.StatusUnauthorized, "unauthorized"
	case problem.KindForbidden:
		e.status = http.StatusForbidden
		// A profile closed to the REST API keeps its precise code: a client
		// can tell it from a missing permission.
		if pe.Code != "enrollment_method_not_allowed" {
			e.Code = "no_access"
		}
	case problem.KindTooLarge:
		e.status = http.StatusRequestEntityTooLarge
	case problem.KindUnavailable:
		e.status = http.StatusServiceUnavailable
	default:
		return nil
	}
	return e
}

// vendorFields names Signet's violation fields as this API's request fields.
var vendorFields = map[string]string{"validity_days": "validity"}

// writeError renders err; anything that is not a domain error is logged
// and answered as a generic 500 without its detail.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toAPI(err)
	if e == nil {
		h.d.Logger.ErrorContext(r.Context(), "digicert API: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = apiErr(http.StatusInternalServerError, "internal_error", "an internal error occurred; it has been logged")
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	_ = writeJSON(w, e.status, map[string]*apiError{"error": e})
}
