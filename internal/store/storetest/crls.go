package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

func testRevokedAndCRLs(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var certs []*store.Certificate
	for i := range 6 {
		c := newCert(i)
		switch i {
		case 1, 2:
			c.Status, c.RevocationReason, c.RevokedAt = store.CertRevoked, 1, ptr(at(time.Duration(i)*time.Hour))
			c.InvalidityDate = ptr(at(-time.Duration(i) * time.Hour))
		case 3:
			c.Status, c.RevocationReason, c.RevokedAt = store.CertOnHold, 6, ptr(at(3*time.Hour))
		case 4: // revoked but long expired
			c.Status, c.RevokedAt, c.NotAfter = store.CertRevoked, ptr(at(time.Hour)), at(-30*24*time.Hour)
		case 5: // another CA
			c.Status, c.RevokedAt, c.CAID = store.CertRevoked, ptr(at(time.Hour)), "ca_other"
		}
		certs = append(certs, c)
	}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, c := range certs {
			if err := tx.InsertCertificate(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(q store.RevokedQuery) map[string]string {
		out := map[string]string{}
		noErr(t, "ForEachRevoked", s.ForEachRevoked(ctx, q, func(c *store.Certificate) error {
			if c.RevokedAt == nil {
				t.Errorf("%s has no revocation time", c.Serial)
			}
			if (c.Serial == certs[1].Serial) != (c.InvalidityDate != nil && c.InvalidityDate.Equal(*certs[1].InvalidityDate)) {
				t.Errorf("%s: invalidity date %v", c.Serial, c.InvalidityDate)
			}
			out[c.Serial] = c.Status
			return nil
		}))
		return out
	}
	same(t, "CRL entries", list(store.RevokedQuery{CAID: "ca_test1", NotAfterFrom: at(-24 * time.Hour)}),
		map[string]string{certs[1].Serial: store.CertRevoked, certs[2].Serial: store.CertRevoked, certs[3].Serial: store.CertOnHold})
	same(t, "delta entries", list(store.RevokedQuery{CAID: "ca_test1", NotAfterFrom: at(-24 * time.Hour), ChangedSince: ptr(at(2 * time.Hour))}),
		map[string]string{certs[2].Serial: store.CertRevoked, certs[3].Serial: store.CertOnHold})

	n, err := s.MaxCRLNumber(ctx, "ca_test1")
	noErr(t, "MaxCRLNumber", err)
	if n != 0 {
		t.Fatalf("no CRL yet, max number %d", n)
	}
	_, err = s.LatestCRL(ctx, "ca_test1", false)
	wantErr(t, "LatestCRL none", err, store.ErrNotFound)
	full := &store.CRL{CAID: "ca_test1", Number: 1, ThisUpdate: at(0), NextUpdate: at(24 * time.Hour), Entries: 3, DER: []byte("full")}
	delta := &store.CRL{CAID: "ca_test1", Number: 2, BaseNumber: 1, ThisUpdate: at(time.Minute), NextUpdate: at(24 * time.Hour), Entries: 1, DER: []byte("delta")}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.InsertCRL(ctx, full); err != nil {
			return err
		}
		return tx.InsertCRL(ctx, delta)
	})
	wantErr(t, "InsertCRL same number", s.Update(ctx, func(tx store.Tx) error {
		return tx.InsertCRL(ctx, &store.CRL{CAID: "ca_test1", Number: 2, ThisUpdate: at(0), NextUpdate: at(0), DER: []byte("x")})
	}), store.ErrDuplicate)
	got, err := s.LatestCRL(ctx, "ca_test1", false)
	noErr(t, "LatestCRL full", err)
	same(t, "full CRL", got, full)
	got, err = s.LatestCRL(ctx, "ca_test1", true)
	noErr(t, "LatestCRL delta", err)
	same(t, "delta CRL", got, delta)
	n, err = s.MaxCRLNumber(ctx, "ca_test1")
	noErr(t, "MaxCRLNumber", err)
	if n != 2 {
		t.Fatalf("max CRL number %d, want 2", n)
	}
}
