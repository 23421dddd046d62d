package acme

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/store"
)

// kindReplacement records which order replaces a certificate (RFC 9773
// "replaces"); its id is the certificate's ARI id.
const kindReplacement = "replacement"

// ariRetryAfter is how often clients are asked to poll renewal information.
const ariRetryAfter = 6 * time.Hour

type renewalInfoJSON struct {
	SuggestedWindow struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"suggestedWindow"`
	ExplanationURL string `json:"explanationURL,omitempty"`
}

// parseCertID reads an RFC 9773 certificate id: base64url(authority key
// identifier) "." base64url(serial number's DER content octets).
func parseCertID(id string) (aki []byte, serial string, err error) {
	a, s, ok := strings.Cut(id, ".")
	if ok {
		aki, err = b64.DecodeString(a)
	}
	var sb []byte
	if ok && err == nil {
		sb, err = b64.DecodeString(s)
	}
	if !ok || err != nil || len(aki) == 0 || len(sb) == 0 || len(sb) > 21 || sb[0]&0x80 != 0 {
		return nil, "", malformed("%q is not a certificate id (base64url key identifier, a dot, base64url serial)", id)
	}
	return aki, certutil.SerialHex(new(big.Int).SetBytes(sb)), nil
}

// renewalInfo tells a client when to renew (RFC 9773): in the last third
// of the certificate's lifetime, or at once after a revocation or hold.
// It is public; the lookup runs as a read-only principal of the
// directory's organization.
func (s *Service) renewalInfo(w http.ResponseWriter, r *http.Request, d *directory) error {
	aki, serial, err := parseCertID(r.PathValue("certid"))
	if err != nil {
		return err
	}
	reader := &auth.Principal{ID: "acme_renewal_info", Name: "ACME renewal information", Kind: "acme",
		OrgID: d.prof.Profile.OrgID, Roles: []string{auth.RoleAuditor}, Method: "acme", SourceIP: auth.SourceIP(r)}
	rec, err := s.issuance.GetCertificate(auth.WithPrincipal(r.Context(), reader), serial)
	if err != nil {
		return newError(errMalformed, http.StatusNotFound, "no certificate %s in this directory's organization", serial)
	}
	cert, err := x509.ParseCertificate(rec.DER)
	if err != nil || !bytes.Equal(cert.AuthorityKeyId, aki) {
		return newError(errMalformed, http.StatusNotFound, "no certificate with that key identifier and serial")
	}
	start, end := renewalWindow(rec, s.now())
	var out renewalInfoJSON
	out.SuggestedWindow.Start, out.SuggestedWindow.End = start.Format(time.RFC3339), end.Format(time.RFC3339)
	setRetryAfter(w, ariRetryAfter)
	return writeJSON(w, http.StatusOK, out)
}

// renewalWindow is the suggested renewal window of rec at now.
func renewalWindow(rec *store.Certificate, now time.Time) (start, end time.Time) {
	if rec.Status != store.CertActive {
		// A window entirely in the past: renew immediately.
		return now.Add(-2 * time.Hour).Truncate(time.Second), now.Add(-time.Hour).Truncate(time.Second)
	}
	life := rec.NotAfter.Sub(rec.NotBefore)
	return rec.NotBefore.Add(life * 2 / 3).Truncate(time.Second), rec.NotBefore.Add(life * 5 / 6).Truncate(time.Second)
}

type replacementRecord struct {
	Order string `json:"order"`
}

// markReplaced records, in the order's transaction, that the new order
// replaces cert (RFC 9773 id certID), until cert expires; an earlier order
// still alive makes it alreadyReplaced.
func (s *Service) markReplaced(ctx context.Context, tx store.Tx, certID string, cert *store.Certificate, orderID string) error {
	now := s.now()
	until := cert.NotAfter
	rec := encode(&store.ProtocolObject{Kind: kindReplacement, ID: certID, Status: "active", ExpiresAt: &until, CreatedAt: now, UpdatedAt: now},
		replacementRecord{Order: orderID})
	old, err := tx.GetProtocolObject(ctx, kindReplacement, certID)
	if errors.Is(err, store.ErrNotFound) {
		return tx.InsertProtocolObject(ctx, rec)
	}
	if err != nil {
		return fmt.Errorf("load replacement: %w", err)
	}
	var prev replacementRecord
	if err := decode(old, &prev); err != nil {
		return err
	}
	if po, err := tx.GetProtocolObject(ctx, kindOrder, prev.Order); err == nil && orderAlive(po, now) {
		return newError(errAlreadyReplaced, http.StatusConflict, "order %s already replaces this certificate", prev.Order)
	}
	return tx.UpdateProtocolObject(ctx, rec, "active")
}

// orderAlive reports whether a stored order may still produce a
// certificate (or did): not invalid, and not a pending or ready order past
// its expiry.
func orderAlive(o *store.ProtocolObject, now time.Time) bool {
	switch o.Status {
	case statusInvalid:
		return false
	case statusPending, statusReady:
		return o.ExpiresAt == nil || now.Before(*o.ExpiresAt)
	}
	return true
}
