package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// problemDoc is an RFC 9457 problem document with Signet's stable code.
type problemDoc struct {
	Type       string              `json:"type"`
	Title      string              `json:"title"`
	Status     int                 `json:"status"`
	Detail     string              `json:"detail"`
	Code       string              `json:"code"`
	Violations []problem.Violation `json:"violations,omitempty"`
	RequestID  string              `json:"request_id,omitempty"`
}

// writeError renders err as a problem document. Errors that are not domain
// problems are logged and reported as a generic 500 so internals never leak.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	pe := problem.As(err)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		pe = problem.New(problem.KindTooLarge, "body_too_large", "the request body exceeds %d bytes", mbe.Limit)
	case pe == nil && errors.Is(err, store.ErrUnavailable):
		log.WarnContext(r.Context(), "database unavailable", "err", err, "method", r.Method, "path", r.URL.Path)
		pe = problem.New(problem.KindUnavailable, "database_unavailable", "the database is unreachable; nothing was changed, retry shortly")
	case pe == nil && r.Context().Err() != nil:
		pe = problem.New(problem.KindUnavailable, "request_cancelled", "the request was cancelled or timed out")
	case pe == nil:
		log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path)
		pe = problem.New(problem.KindInternal, "internal_error", "an internal error occurred; it has been logged")
	}
	status := problem.HTTPStatus(pe.Kind)
	if pe.Kind == problem.KindInternal && pe.Err != nil {
		log.ErrorContext(r.Context(), "internal error", "err", pe.Err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="signet"`)
	}
	doc := problemDoc{Type: "urn:signet:problem:" + pe.Code, Title: http.StatusText(status), Status: status,
		Detail: pe.Message, Code: pe.Code, Violations: pe.Violations, RequestID: requestID(r.Context())}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(doc)
}
