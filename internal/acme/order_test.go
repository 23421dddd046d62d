package acme

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// fakeIssuance answers enrollments and request lookups as told.
type fakeIssuance struct {
	Issuance
	enrolls   int
	enrollErr error
	pending   bool
	request   store.Request
}

func (f *fakeIssuance) Enroll(_ context.Context, in issuance.EnrollInput) (*issuance.Issued, error) {
	f.enrolls++
	if f.enrollErr != nil {
		return nil, f.enrollErr
	}
	out := &issuance.Issued{Request: &store.Request{ID: "req_1", Status: store.RequestIssued}}
	if f.pending {
		out.Request.Status = store.RequestPending
		return out, nil
	}
	out.Certificate = &store.Certificate{Serial: "abc"}
	return out, nil
}

func (f *fakeIssuance) GetRequest(context.Context, string) (*store.Request, error) {
	r := f.request
	return &r, nil
}

// TestRefreshOrder follows orders through the states that depend on
// something else: expiry, a manager's decision, a finalization a node left
// unanswered (taken over once stale, and idempotent through issuance).
func TestACMERefreshOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		status    string
		requestID string
		age       time.Duration // since the order last changed
		expired   bool
		iss       fakeIssuance
		want      string
		enrolls   int
		errType   string
	}{
		{name: "pending, expired", status: statusPending, expired: true, want: statusInvalid},
		{name: "ready, expired", status: statusReady, expired: true, want: statusInvalid},
		{name: "processing, recent, no answer yet", status: statusProcessing, age: time.Second, want: statusProcessing},
		{name: "processing, stale: enrolled again", status: statusProcessing, age: 2 * time.Minute, want: statusValid, enrolls: 1},
		{name: "processing, stale, now pending approval", status: statusProcessing, age: 2 * time.Minute, iss: fakeIssuance{pending: true},
			want: statusProcessing, enrolls: 1},
		{name: "processing, stale, CSR refused now", status: statusProcessing, age: 2 * time.Minute,
			iss: fakeIssuance{enrollErr: problem.Invalid("policy_violation", "no")}, want: statusInvalid, enrolls: 1, errType: errBadCSR},
		{name: "approved", status: statusProcessing, requestID: "req_1", iss: fakeIssuance{request: store.Request{Status: store.RequestIssued, CertSerial: "abc"}},
			want: statusValid},
		{name: "still pending approval", status: statusProcessing, requestID: "req_1", iss: fakeIssuance{request: store.Request{Status: store.RequestPending}},
			want: statusProcessing},
		{name: "rejected", status: statusProcessing, requestID: "req_1", iss: fakeIssuance{request: store.Request{Status: store.RequestRejected, Reason: "no"}},
			want: statusInvalid, errType: errUnauthorized},
		{name: "valid stays valid", status: statusValid, want: statusValid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: start}
			iss := tc.iss
			s, err := New(Deps{Store: newMemStore(), Issuance: &iss}, Config{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			o := &order{ProfileID: "prof_web", Identifiers: []identifier{{"dns", "a.test"}}, Expires: start.Add(time.Hour),
				CSR: "csr", RequestID: tc.requestID}
			o.obj = store.ProtocolObject{Kind: kindOrder, ID: "ord_1", AccountID: "acct_a", Status: tc.status, CreatedAt: start, UpdatedAt: start}
			if err := s.store.Update(context.Background(), func(tx store.Tx) error {
				return tx.InsertProtocolObject(context.Background(), encode(&o.obj, o))
			}); err != nil {
				t.Fatal(err)
			}
			clk.advance(tc.age)
			if tc.expired {
				clk.advance(2 * time.Hour)
			}
			got, err := s.refreshOrder(context.Background(), &account{obj: store.ProtocolObject{ID: "acct_a"}}, o)
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := s.loadOrder(context.Background(), "ord_1")
			if got.obj.Status != tc.want || stored.obj.Status != tc.want || iss.enrolls != tc.enrolls {
				t.Fatalf("status %s (stored %s), %d enrollments; want %s, %d", got.obj.Status, stored.obj.Status, iss.enrolls, tc.want, tc.enrolls)
			}
			if tc.want == statusValid && tc.status != statusValid && stored.CertSerial != "abc" {
				t.Fatalf("valid order without its certificate: %+v", stored)
			}
			if tc.errType != "" && (stored.Error == nil || stored.Error.Type != tc.errType) {
				t.Fatalf("error %+v, want %s", stored.Error, tc.errType)
			}
		})
	}
}
