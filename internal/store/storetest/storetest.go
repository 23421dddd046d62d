// Package storetest is the conformance suite every store.Store backend runs:
// record round trips, error mapping, the inventory's filters, sorts and
// pagination, group-commit isolation and the audit chain.
//
// A backend wires it from a test:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, openEmptyStore) }
//	func TestReopen(t *testing.T)      { storetest.RunReopen(t, openReopenable) }
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// Run runs every conformance test, each on a fresh empty store from open.
// open registers the store's Close with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CAs", testCAs},
		{"Templates", testTemplates},
		{"Profiles", testProfiles},
		{"Requests", testRequests},
		{"Certificates", testCertificates},
		{"DeleteCertificate", testDeleteCertificate},
		{"APIKeys", testAPIKeys},
		{"TouchAPIKey", testTouchAPIKey},
		{"Idempotency", testIdempotency},
		{"ListPagination", testListPagination},
		{"UpdateRollsBackAlone", testUpdateRollsBackAlone},
		{"UpdateReadsOwnWrites", testUpdateReadsOwnWrites},
		{"UpdateCancelled", testUpdateCancelled},
		{"ConcurrentBatchIsolation", testConcurrentBatchIsolation},
		{"AuditChain", testAuditChain},
		{"Search", testSearch},
		{"SearchCursorErrors", testSearchCursorErrors},
		{"Summary", testSummary},
		{"Directory", testDirectory},
		{"TenancySearch", testTenancySearch},
		{"AuditSearch", testAuditSearch},
		{"RevokedAndCRLs", testRevokedAndCRLs},
		{"ProtocolObjects", testProtocolObjects},
		{"Endpoints", testEndpoints},
		{"Notifications", testNotifications},
		{"Agents", testAgents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// RunReopen checks that everything survives closing and reopening the
// store, the audit chain head included. open returns a store over fresh
// storage and a function that opens another store over the same storage
// (after the suite has closed the first one).
func RunReopen(t *testing.T, open func(t *testing.T) (store.Store, func(t *testing.T) store.Store)) {
	testReopen(t, open)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// update runs fn in s.Update and fails the test on error.
func update(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := ctxT(t)
	if err := s.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// same fails when got and want differ; see diff for what counts as equal.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(reflect.ValueOf(got), reflect.ValueOf(want), ""); d != "" {
		t.Errorf("%s differs:%s", what, d)
	}
}

// diff compares records field by field. Times compare as instants (a backend
// may return another location), and nil and empty slices or maps are equal
// (a backend may not distinguish them). Everything else must be identical.
func diff(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return fmt.Sprintf("\n  %s: kind %v vs %v", path, a.Kind(), b.Kind())
	}
	if a.Type() == reflect.TypeOf(time.Time{}) {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		if !ta.Equal(tb) {
			return fmt.Sprintf("\n  %s: %v vs %v", path, ta, tb)
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("\n  %s: %v vs %v", path, a, b)
			}
			return ""
		}
		return diff(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		var out string
		for i := range a.NumField() {
			out += diff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)
		}
		return out
	case reflect.Slice:
		if a.Len() != b.Len() {
			return fmt.Sprintf("\n  %s: %v vs %v", path, a, b)
		}
		var out string
		for i := range a.Len() {
			out += diff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		return out
	case reflect.Map:
		if a.Len() != b.Len() {
			return fmt.Sprintf("\n  %s: %v vs %v", path, a, b)
		}
		var out string
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("\n  %s: key %v missing", path, k)
			}
			out += diff(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k))
		}
		return out
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("\n  %s: %#v vs %#v", path, a, b)
	}
	return ""
}
