package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

func testCAs(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	root, sub := newCA(1), newCA(2)
	root.Kind, root.ParentID = store.CARoot, ""
	imported := newCA(3)
	imported.Kind, imported.KeyBlob, imported.Status = store.CAImported, nil, store.CADisabled
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, c := range []*store.CA{root, sub, imported} {
			if err := tx.InsertCA(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if root.IntID == 0 || sub.IntID == 0 || root.IntID == sub.IntID {
		t.Fatalf("IntIDs not assigned: %d, %d", root.IntID, sub.IntID)
	}
	for _, want := range []*store.CA{root, sub, imported} {
		got, err := s.GetCA(ctx, want.ID)
		noErr(t, "GetCA", err)
		same(t, "GetCA "+want.ID, got, want)
		got, err = s.GetCAByName(ctx, want.Name)
		noErr(t, "GetCAByName", err)
		same(t, "GetCAByName "+want.Name, got, want)
	}

	dupName, dupID := newCA(4), newCA(5)
	dupName.Name, dupID.ID = root.Name, root.ID
	for what, c := range map[string]*store.CA{"same name": dupName, "same id": dupID} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertCA(ctx, c) })
		wantErr(t, "InsertCA with "+what, err, store.ErrDuplicate)
	}

	sub.Status, sub.CRLURL, sub.KeyBlob, sub.UpdatedAt = store.CADisabled, "http://crl2.example/x.crl", []byte("resealed"), at(time.Hour)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateCA(ctx, sub) })
	got, err := s.GetCA(ctx, sub.ID)
	noErr(t, "GetCA after update", err)
	same(t, "updated CA", got, sub)

	missing := newCA(9)
	wantErr(t, "UpdateCA missing", s.Update(ctx, func(tx store.Tx) error { return tx.UpdateCA(ctx, missing) }), store.ErrNotFound)
	_, err = s.GetCA(ctx, "ca_missing")
	wantErr(t, "GetCA missing", err, store.ErrNotFound)
	_, err = s.GetCAByName(ctx, "missing")
	wantErr(t, "GetCAByName missing", err, store.ErrNotFound)

	disabled, _, err := s.ListCAs(ctx, store.ListQuery{Status: store.CADisabled})
	noErr(t, "ListCAs", err)
	same(t, "disabled CAs", ids(disabled, func(c store.CA) string { return c.ID }), []string{sub.ID, imported.ID})
}

func testTemplates(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	tpl := newTemplate(1)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertTemplate(ctx, tpl) })
	for _, get := range []func() (*store.Template, error){
		func() (*store.Template, error) { return s.GetTemplate(ctx, tpl.ID) },
		func() (*store.Template, error) { return s.GetTemplateByName(ctx, tpl.Name) },
	} {
		got, err := get()
		noErr(t, "get template", err)
		same(t, "template", got, tpl)
	}
	dup := newTemplate(2)
	dup.Name = tpl.Name
	wantErr(t, "duplicate template name", s.Update(ctx, func(tx store.Tx) error { return tx.InsertTemplate(ctx, dup) }), store.ErrDuplicate)

	tpl.Name, tpl.Description, tpl.Spec, tpl.UpdatedAt = "renamed", "changed", []byte(`{"max_validity_days":30}`), at(time.Hour)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateTemplate(ctx, tpl) })
	got, err := s.GetTemplate(ctx, tpl.ID)
	noErr(t, "GetTemplate", err)
	same(t, "updated template", got, tpl)

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteTemplate(ctx, tpl.ID) })
	_, err = s.GetTemplate(ctx, tpl.ID)
	wantErr(t, "GetTemplate after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteTemplate missing", s.Update(ctx, func(tx store.Tx) error { return tx.DeleteTemplate(ctx, tpl.ID) }), store.ErrNotFound)
	wantErr(t, "UpdateTemplate missing", s.Update(ctx, func(tx store.Tx) error { return tx.UpdateTemplate(ctx, tpl) }), store.ErrNotFound)
}

// seedCatalog inserts CA 1, template 1 and profile 1 (which uses both).
func seedCatalog(t *testing.T, s store.Store) (*store.CA, *store.Template, *store.Profile) {
	ca, tpl := newCA(1), newTemplate(1)
	p := newProfile(1, tpl.ID, ca.ID)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.InsertCA(ctx, ca); err != nil {
			return err
		}
		if err := tx.InsertTemplate(ctx, tpl); err != nil {
			return err
		}
		return tx.InsertProfile(ctx, p)
	})
	return ca, tpl, p
}

func testProfiles(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ca, tpl, p := seedCatalog(t, s)
	for _, get := range []func() (*store.Profile, error){
		func() (*store.Profile, error) { return s.GetProfile(ctx, p.ID) },
		func() (*store.Profile, error) { return s.GetProfileByName(ctx, p.Name) },
	} {
		got, err := get()
		noErr(t, "get profile", err)
		same(t, "profile", got, p)
	}
	counts := []struct {
		tpl, ca string
		want    int64
	}{{tpl.ID, "", 1}, {"", ca.ID, 1}, {tpl.ID, ca.ID, 1}, {"tpl_other", "", 0}, {"", "", 0}}
	for _, c := range counts {
		n, err := s.CountProfilesUsing(ctx, c.tpl, c.ca)
		noErr(t, "CountProfilesUsing", err)
		if n != c.want {
			t.Errorf("CountProfilesUsing(%q, %q) = %d, want %d", c.tpl, c.ca, n, c.want)
		}
	}
	// A template in use cannot go: the profile would point nowhere.
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteTemplate(ctx, tpl.ID) }); err == nil {
		t.Error("DeleteTemplate of a template in use succeeded")
	}

	p.Status, p.EnrollmentMethods, p.DefaultValidityDays, p.UpdatedAt = "disabled", []string{"est"}, 7, at(time.Hour)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateProfile(ctx, p) })
	got, err := s.GetProfile(ctx, p.ID)
	noErr(t, "GetProfile", err)
	same(t, "updated profile", got, p)
	list, _, err := s.ListProfiles(ctx, store.ListQuery{Status: "active"})
	noErr(t, "ListProfiles", err)
	if len(list) != 0 {
		t.Errorf("ListProfiles(active) = %d profiles, want 0", len(list))
	}

	// External and self-signed profiles have no CA ("" round-trips), yet an
	// internal profile's CA must still exist.
	for _, c := range []struct{ issuer, ca, connector string }{
		{store.IssuerExternal, "", "upc_test1"}, {store.IssuerSelfSigned, "", ""}, {store.IssuerInternal, ca.ID, ""},
	} {
		p.IssuerType, p.CAID, p.ConnectorID, p.UpdatedAt = c.issuer, c.ca, c.connector, p.UpdatedAt.Add(time.Minute)
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateProfile(ctx, p) })
		got, err = s.GetProfile(ctx, p.ID)
		noErr(t, "GetProfile "+c.issuer, err)
		same(t, "profile "+c.issuer, got, p)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		q := newProfile(2, tpl.ID, "ca_missing")
		return tx.InsertProfile(ctx, q)
	}); err == nil {
		t.Error("InsertProfile with a missing CA succeeded")
	}
	selfSigned := newProfile(3, tpl.ID, "")
	selfSigned.IssuerType = store.IssuerSelfSigned
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertProfile(ctx, selfSigned) })
	got, err = s.GetProfile(ctx, selfSigned.ID)
	noErr(t, "GetProfile self-signed", err)
	same(t, "self-signed profile", got, selfSigned)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteProfile(ctx, selfSigned.ID) })

	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteProfile(ctx, p.ID) })
	_, err = s.GetProfile(ctx, p.ID)
	wantErr(t, "GetProfile after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteProfile missing", s.Update(ctx, func(tx store.Tx) error { return tx.DeleteProfile(ctx, p.ID) }), store.ErrNotFound)
}

func testRequests(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	_, _, p := seedCatalog(t, s)
	r := newRequest(1, p.ID)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertRequest(ctx, r) })
	got, err := s.GetRequest(ctx, r.ID)
	noErr(t, "GetRequest", err)
	same(t, "request", got, r)
	wantErr(t, "duplicate request id", s.Update(ctx, func(tx store.Tx) error { return tx.InsertRequest(ctx, newRequest(1, p.ID)) }), store.ErrDuplicate)

	decided := *r
	decided.Status, decided.DecidedBy, decided.DecidedAt, decided.UpdatedAt = store.RequestIssued, "usr_bob", ptr(at(2*time.Hour)), at(2*time.Hour)
	decided.CertSerial = "abc123"
	// Only from the status the caller saw: a concurrent decision wins once.
	wantErr(t, "UpdateRequest from wrong status",
		s.Update(ctx, func(tx store.Tx) error { return tx.UpdateRequest(ctx, &decided, store.RequestApproved) }), store.ErrConflict)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateRequest(ctx, &decided, store.RequestPending)
	})
	wantErr(t, "second UpdateRequest from pending",
		s.Update(ctx, func(tx store.Tx) error { return tx.UpdateRequest(ctx, &decided, store.RequestPending) }), store.ErrConflict)
	got, err = s.GetRequest(ctx, r.ID)
	noErr(t, "GetRequest", err)
	same(t, "decided request", got, &decided)

	missing := newRequest(2, p.ID)
	wantErr(t, "UpdateRequest missing",
		s.Update(ctx, func(tx store.Tx) error { return tx.UpdateRequest(ctx, missing, store.RequestPending) }), store.ErrNotFound)
	_, err = s.GetRequest(ctx, "req_missing")
	wantErr(t, "GetRequest missing", err, store.ErrNotFound)
}

func testCertificates(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	c := newCert(1)
	c.RenewedFrom, c.RevocationReason = "0abc", 0
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, c) })
	if c.IntID == 0 {
		t.Fatal("InsertCertificate did not set IntID")
	}
	got, err := s.GetCertificate(ctx, c.Serial)
	noErr(t, "GetCertificate", err)
	same(t, "certificate", got, c)
	got, err = s.GetCertificateBySHA256(ctx, c.SHA256)
	noErr(t, "GetCertificateBySHA256", err)
	same(t, "certificate by SHA-256", got, c)

	dupSerial, dupHash := newCert(2), newCert(3)
	dupSerial.Serial, dupHash.SHA256 = c.Serial, c.SHA256
	for what, d := range map[string]*store.Certificate{"serial": dupSerial, "sha256": dupHash} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertCertificate(ctx, d) })
		wantErr(t, "InsertCertificate with duplicate "+what, err, store.ErrDuplicate)
	}

	revoked := *c
	revoked.Status, revoked.RevocationReason, revoked.RevokedAt, revoked.UpdatedAt = store.CertRevoked, 4, ptr(at(time.Hour)), at(time.Hour)
	revoked.RenewedBy, revoked.Owner = "0def", "team-b"
	wantErr(t, "UpdateCertificate from wrong status",
		s.Update(ctx, func(tx store.Tx) error { return tx.UpdateCertificate(ctx, &revoked, store.CertOnHold) }), store.ErrConflict)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateCertificate(ctx, &revoked, store.CertActive)
	})
	got, err = s.GetCertificate(ctx, c.Serial)
	noErr(t, "GetCertificate", err)
	same(t, "revoked certificate", got, &revoked)

	missing := newCert(4)
	wantErr(t, "UpdateCertificate missing",
		s.Update(ctx, func(tx store.Tx) error { return tx.UpdateCertificate(ctx, missing, store.CertActive) }), store.ErrNotFound)
	_, err = s.GetCertificate(ctx, "ffff")
	wantErr(t, "GetCertificate missing", err, store.ErrNotFound)
	_, err = s.GetCertificateBySHA256(ctx, "00")
	wantErr(t, "GetCertificateBySHA256 missing", err, store.ErrNotFound)

	// Far-future validity (RFC 5280's 99991231235959Z) and empty optional fields round trip.
	forever := newCert(5)
	forever.NotAfter, forever.SANs, forever.CAID, forever.Source = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), nil, "", store.SourceDiscovered
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertCertificate(ctx, forever) })
	got, err = s.GetCertificate(ctx, forever.Serial)
	noErr(t, "GetCertificate", err)
	same(t, "certificate valid until 9999", got, forever)
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	k := newAPIKey(1)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertAPIKey(ctx, k) })
	got, err := s.GetAPIKey(ctx, k.ID)
	noErr(t, "GetAPIKey", err)
	same(t, "API key", got, k)
	wantErr(t, "duplicate API key", s.Update(ctx, func(tx store.Tx) error { return tx.InsertAPIKey(ctx, newAPIKey(1)) }), store.ErrDuplicate)

	k.Name, k.Roles, k.RevokedAt, k.LastUsedAt = "renamed", []string{"admin"}, ptr(at(time.Hour)), ptr(at(time.Minute))
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateAPIKey(ctx, k) })
	got, err = s.GetAPIKey(ctx, k.ID)
	noErr(t, "GetAPIKey", err)
	same(t, "updated API key", got, k)
	wantErr(t, "UpdateAPIKey missing", s.Update(ctx, func(tx store.Tx) error { return tx.UpdateAPIKey(ctx, newAPIKey(2)) }), store.ErrNotFound)
	_, err = s.GetAPIKey(ctx, "key_missing")
	wantErr(t, "GetAPIKey missing", err, store.ErrNotFound)
}

// testTouchAPIKey allows touches to be asynchronous (the contract lets them
// be lossy) but they must land soon on a healthy store, and must not add
// audit events.
func testTouchAPIKey(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	k := newAPIKey(1)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertAPIKey(ctx, k) })
	for i, when := range []time.Time{at(time.Minute), at(3 * time.Minute), at(2 * time.Minute)} {
		noErr(t, "TouchAPIKey", s.TouchAPIKey(ctx, k.ID, when))
		_ = i
	}
	want := at(3 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.GetAPIKey(ctx, k.ID)
		noErr(t, "GetAPIKey", err)
		if got.LastUsedAt != nil && got.LastUsedAt.Equal(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	events, err := s.ListAuditEvents(ctx, 0, 100)
	noErr(t, "ListAuditEvents", err)
	if len(events) != 0 {
		t.Errorf("touches wrote %d audit events", len(events))
	}
}

func testIdempotency(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	i := &store.Idempotency{Key: "k-1", PrincipalID: "usr_alice", RequestHash: "h1", ResultType: "certificate",
		ResultID: "0abc", CreatedAt: at(0)}
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutIdempotency(ctx, i) })
	got, err := s.GetIdempotency(ctx, i.PrincipalID, i.Key)
	noErr(t, "GetIdempotency", err)
	same(t, "idempotency record", got, i)
	again := *i
	again.ResultID = "0def"
	wantErr(t, "PutIdempotency taken", s.Update(ctx, func(tx store.Tx) error { return tx.PutIdempotency(ctx, &again) }), store.ErrDuplicate)
	// The same key of another principal is another record.
	other := *i
	other.PrincipalID = "usr_bob"
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutIdempotency(ctx, &other) })
	_, err = s.GetIdempotency(ctx, "usr_carol", i.Key)
	wantErr(t, "GetIdempotency missing", err, store.ErrNotFound)
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}
