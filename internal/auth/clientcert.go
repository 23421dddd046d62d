package auth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// ClientCertStore is what client-certificate authentication reads.
type ClientCertStore interface {
	GetCertificateBySHA256(ctx context.Context, sha256 string) (*store.Certificate, error)
	GetPrincipal(ctx context.Context, id string) (*store.Principal, error)
}

// ClientCerts authenticates TLS client certificates that a Signet CA
// issued. The TLS handshake has already verified the chain to a Signet CA;
// here the certificate must be in the inventory, active (not revoked, on
// hold or expired), and owned by a principal, whose identity it carries.
// Nothing is cached: a revocation takes effect on the next request.
type ClientCerts struct {
	store ClientCertStore
	now   func() time.Time
}

// NewClientCerts returns the client-certificate authenticator.
func NewClientCerts(s ClientCertStore, now func() time.Time) *ClientCerts {
	return &ClientCerts{store: s, now: now}
}

// Authenticate maps a verified client certificate to its owner.
func (c *ClientCerts) Authenticate(ctx context.Context, leaf *x509.Certificate) (*Principal, error) {
	bad := problem.Unauthorized("invalid_client_certificate",
		"the client certificate is unknown to Signet, revoked, expired, or not owned by a principal")
	sum := sha256.Sum256(leaf.Raw)
	rec, err := c.store.GetCertificateBySHA256(ctx, hex.EncodeToString(sum[:]))
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("look up client certificate: %w", err)
	}
	if rec.Status != store.CertActive || !c.now().Before(rec.NotAfter) || rec.Owner == "" {
		return nil, bad
	}
	owner, err := c.store.GetPrincipal(ctx, rec.Owner)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("look up client certificate owner: %w", err)
	}
	if owner.Disabled || owner.OrgID != rec.OrgID && owner.OrgID != "" {
		return nil, bad
	}
	return &Principal{ID: owner.ID, Name: owner.Name, Kind: owner.Kind, OrgID: owner.OrgID, TeamIDs: owner.TeamIDs,
		Roles: owner.Roles, Method: "client_certificate"}, nil
}

// CertificateHolder is who presents a certificate Signet issued to renew it
// (EST simplereenroll, SCEP RenewalReq): holding the certificate's key, it
// acts for the certificate's owner on that certificate only, as a
// requester whose team is the owner. name is the certificate's subject
// common name; method says how it authenticated.
func CertificateHolder(rec *store.Certificate, name, method, sourceIP string) *Principal {
	return &Principal{ID: "cert_" + rec.Serial, Name: name, Kind: "certificate", OrgID: rec.OrgID,
		TeamIDs: []string{rec.Owner}, Roles: []string{RoleRequester}, Method: method, SourceIP: sourceIP}
}
