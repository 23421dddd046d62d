package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// decodeJSON reads exactly one JSON object into v, refusing unknown fields so
// typos in field names are reported instead of silently ignored.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return problem.Invalid("json_invalid", "the body must contain a single JSON object")
	}
	return nil
}

func jsonProblem(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return problem.Invalid("json_invalid", "the request body is empty; a JSON object is required")
	case errors.As(err, &syn):
		return problem.Invalid("json_invalid", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return problem.Violations("json_invalid", "a field has the wrong type", []problem.Violation{{
			Field: typ.Field, Code: "wrong_type", Message: fmt.Sprintf("%s must be a %s, not a JSON %s", typ.Field, typ.Type, typ.Value)}})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem.Invalid("json_invalid", "the JSON body is truncated")
	default:
		return problem.Invalid("json_invalid", "invalid JSON: %s", err.Error())
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// page is the envelope of every list.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	Total      *int64 `json:"total,omitempty"`
}

func listQuery(r *http.Request) (store.ListQuery, error) {
	q := store.ListQuery{Cursor: r.URL.Query().Get("cursor"), Status: r.URL.Query().Get("status"),
		ProfileID: r.URL.Query().Get("profile"), OrgID: r.URL.Query().Get("org")}
	limit, err := intParam(r, "limit", 100)
	if err != nil {
		return q, err
	}
	if limit < 1 || limit > 1000 {
		return q, problem.Invalid("limit_invalid", "limit must be between 1 and 1000")
	}
	q.Limit = limit
	return q, nil
}

func intParam(r *http.Request, name string, def int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, problem.Invalid(name+"_invalid", "%s must be an integer", name)
	}
	return n, nil
}

func mapItems[S, T any](in []S, f func(*S) T) []T {
	out := make([]T, len(in))
	for i := range in {
		out[i] = f(&in[i])
	}
	return out
}

// listFromStore maps a store error about cursors onto a clear problem.
func listErr(err error) error {
	if errors.Is(err, store.ErrBadCursor) {
		return problem.Invalid("cursor_invalid", "the cursor is malformed")
	}
	return err
}
