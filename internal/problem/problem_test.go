package problem

import (
	"net/http"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		kind Kind
		want int
	}{
		{KindInvalid, http.StatusBadRequest},
		{KindNotFound, http.StatusNotFound},
		{KindConflict, http.StatusConflict},
		{KindUnauthorized, http.StatusUnauthorized},
		{KindForbidden, http.StatusForbidden},
		{KindTooLarge, http.StatusRequestEntityTooLarge},
		{KindUnavailable, http.StatusServiceUnavailable},
		{KindInternal, http.StatusInternalServerError},
		{Kind(99), http.StatusInternalServerError},
	}
	for _, tc := range tests {
		if got := HTTPStatus(tc.kind); got != tc.want {
			t.Errorf("HTTPStatus(%s) = %d, want %d", tc.kind, got, tc.want)
		}
	}
}
