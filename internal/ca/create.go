package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// KeySpec names a key to generate.
type KeySpec struct {
	Algorithm string `json:"algorithm"` // rsa | ecdsa | ed25519
	Bits      int    `json:"bits"`      // rsa 2048/3072/4096, ecdsa 256/384
}

// NameConstraints restrict the names a CA may certify (RFC 5280 4.2.1.10).
type NameConstraints struct {
	PermittedDNS   []string `json:"permitted_dns,omitempty"`
	ExcludedDNS    []string `json:"excluded_dns,omitempty"`
	PermittedIPs   []string `json:"permitted_ips,omitempty"` // CIDRs
	ExcludedIPs    []string `json:"excluded_ips,omitempty"`
	PermittedEmail []string `json:"permitted_email,omitempty"`
	ExcludedEmail  []string `json:"excluded_email,omitempty"`
	PermittedURI   []string `json:"permitted_uri,omitempty"`
	ExcludedURI    []string `json:"excluded_uri,omitempty"`
}

// CreateInput describes a CA to create.
type CreateInput struct {
	Name            string           `json:"name"`
	Org             string           `json:"org,omitempty"` // id or name; default: the caller's
	Kind            string           `json:"kind"`          // root | intermediate
	Parent          string           `json:"parent"`        // id or name of the issuing CA (intermediate only)
	Key             KeySpec          `json:"key"`
	Subject         Subject          `json:"subject"`
	ValidityDays    int              `json:"validity_days"`
	PathLen         *int             `json:"path_len,omitempty"` // nil = unlimited
	NameConstraints *NameConstraints `json:"name_constraints,omitempty"`
}

// backdate covers clock skew between Signet and relying parties.
const backdate = time.Minute

// Create makes a root or intermediate CA with a fresh key sealed at rest.
func (s *Service) Create(ctx context.Context, in CreateInput) (*store.CA, error) {
	caller, err := auth.Require(ctx, auth.PermCAManage)
	if err != nil {
		return nil, err
	}
	if err := validateCreate(in); err != nil {
		return nil, err
	}
	orgID, err := auth.TargetOrg(ctx, s.store, caller, in.Org)
	if err != nil {
		return nil, err
	}
	key, err := certutil.GenerateKey(in.Key.Algorithm, in.Key.Bits)
	if err != nil {
		return nil, err
	}
	now := s.now()
	tmpl, err := caTemplate(in, now)
	if err != nil {
		return nil, err
	}
	parentCert, signer := tmpl, crypto.Signer(key)
	parentID := ""
	if in.Kind == store.CAIntermediate {
		parent, err := s.parentIssuer(ctx, in.Parent)
		if err != nil {
			return nil, err
		}
		if !caller.InOrg(parent.CA.OrgID) {
			return nil, problem.Forbidden("other_organization", "parent CA %s belongs to another organization", in.Parent)
		}
		if tmpl.NotAfter.After(parent.Cert.NotAfter) {
			return nil, problem.Invalid("validity_exceeds_issuer",
				"validity ends %s, after the issuing CA's own (%s)", tmpl.NotAfter.Format(time.DateOnly), parent.Cert.NotAfter.Format(time.DateOnly))
		}
		parentCert, signer, parentID = parent.Cert, parent.Signer, parent.CA.ID
	}
	der, err := x509.CreateCertificate(nil, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("sign CA certificate: %w", err)
	}
	rec := newRecord(in.Name, in.Kind, parentID, der, now)
	if rec.KeyBlob, err = s.sealer.Seal(key, rec.ID); err != nil {
		return nil, fmt.Errorf("seal CA key: %w", err)
	}
	rec.OrgID = orgID
	return s.insert(ctx, caller, rec, "ca.create")
}

func (s *Service) parentIssuer(ctx context.Context, ref string) (*Issuer, error) {
	if ref == "" {
		return nil, problem.Invalid("parent_required", "an intermediate CA needs a parent CA")
	}
	prec, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	parent, err := s.issuer(ctx, prec.ID)
	if err != nil {
		return nil, err
	}
	if parent.Signer == nil {
		return nil, problem.Conflict("ca_has_no_key", "CA %s has no private key in Signet", prec.Name)
	}
	if prec.Status != store.CAActive {
		return nil, problem.Conflict("ca_disabled", "CA %s is disabled", prec.Name)
	}
	if !parent.Cert.IsCA || (parent.Cert.MaxPathLenZero && parent.Cert.MaxPathLen == 0) {
		return nil, problem.Conflict("ca_path_length", "CA %s may not issue subordinate CAs (path length)", prec.Name)
	}
	return parent, nil
}

func validateCreate(in CreateInput) error {
	var vs []problem.Violation
	add := func(field, code, msg string) {
		vs = append(vs, problem.Violation{Field: field, Code: code, Message: msg})
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 100 {
		add("name", "required", "name is required (at most 100 characters)")
	}
	if in.Kind != store.CARoot && in.Kind != store.CAIntermediate {
		add("kind", "invalid", "kind must be root or intermediate")
	}
	if in.Subject.CommonName == "" {
		add("subject.common_name", "required", "a CA needs a common name")
	}
	if in.ValidityDays <= 0 || in.ValidityDays > 36500 {
		add("validity_days", "invalid", "validity_days must be between 1 and 36500")
	}
	if in.PathLen != nil && (*in.PathLen < 0 || *in.PathLen > 10) {
		add("path_len", "invalid", "path_len must be between 0 and 10")
	}
	if err := in.Subject.Validate("subject"); err != nil {
		vs = append(vs, problem.As(err).Violations...)
	}
	if in.NameConstraints != nil {
		for _, c := range append(in.NameConstraints.PermittedIPs, in.NameConstraints.ExcludedIPs...) {
			if _, _, err := net.ParseCIDR(c); err != nil {
				add("name_constraints", "invalid_cidr", fmt.Sprintf("%q is not a CIDR", c))
			}
		}
	}
	if len(vs) > 0 {
		return problem.Violations("ca_invalid", "the CA request is invalid", vs)
	}
	return nil
}

func caTemplate(in CreateInput, now time.Time) (*x509.Certificate, error) {
	serial, err := certutil.NewSerial()
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               in.Subject.PKIX(),
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(0, 0, in.ValidityDays),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            -1,
	}
	if in.PathLen != nil {
		t.MaxPathLen = *in.PathLen
		t.MaxPathLenZero = *in.PathLen == 0
	}
	if nc := in.NameConstraints; nc != nil {
		t.PermittedDNSDomainsCritical = true
		t.PermittedDNSDomains, t.ExcludedDNSDomains = nc.PermittedDNS, nc.ExcludedDNS
		t.PermittedEmailAddresses, t.ExcludedEmailAddresses = nc.PermittedEmail, nc.ExcludedEmail
		t.PermittedURIDomains, t.ExcludedURIDomains = nc.PermittedURI, nc.ExcludedURI
		t.PermittedIPRanges, t.ExcludedIPRanges = cidrs(nc.PermittedIPs), cidrs(nc.ExcludedIPs)
	}
	return t, nil
}

func cidrs(in []string) []*net.IPNet {
	var out []*net.IPNet
	for _, c := range in {
		if _, n, err := net.ParseCIDR(c); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func newRecord(name, kind, parentID string, der []byte, now time.Time) *store.CA {
	cert, _ := x509.ParseCertificate(der) // der was just produced or parsed by the caller
	return &store.CA{
		ID: store.NewID("ca"), Name: name, Kind: kind, Status: store.CAActive, ParentID: parentID,
		CertDER: der, Subject: cert.Subject.String(), SerialHex: certutil.SerialHex(cert.SerialNumber),
		SKIHex: hex.EncodeToString(cert.SubjectKeyId), NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(),
		KeyType: certutil.KeyTypeLabel(cert.PublicKey), CreatedAt: now, UpdatedAt: now,
	}
}

// ImportInput is an external CA certificate, optionally with its key.
type ImportInput struct {
	Name           string `json:"name"`
	Org            string `json:"org,omitempty"`
	CertificatePEM string `json:"certificate"`
	PrivateKeyPEM  string `json:"private_key,omitempty"`
}

// Import registers an external CA so its certificates can be imported and
// tracked; with its key, Signet can also issue from it.
func (s *Service) Import(ctx context.Context, in ImportInput) (*store.CA, error) {
	caller, err := auth.Require(ctx, auth.PermCAManage)
	if err != nil {
		return nil, err
	}
	orgID, err := auth.TargetOrg(ctx, s.store, caller, in.Org)
	if err != nil {
		return nil, err
	}
	certs, err := certutil.ParseCertificates([]byte(in.CertificatePEM))
	if err != nil {
		return nil, err
	}
	cert := certs[0]
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, problem.Invalid("not_a_ca", "the certificate is not a CA certificate (basicConstraints CA:TRUE missing)")
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = cert.Subject.CommonName
	}
	if name == "" || len(name) > 100 {
		return nil, problem.Invalid("name_invalid", "a name is required (at most 100 characters)")
	}
	rec := newRecord(name, store.CAImported, "", cert.Raw, s.now())
	rec.OrgID = orgID
	rec.ParentID = s.findParent(ctx, cert)
	if in.PrivateKeyPEM != "" {
		key, err := certutil.ParsePrivateKey([]byte(in.PrivateKeyPEM))
		if err != nil {
			return nil, err
		}
		if !certutil.KeyMatchesCertificate(key, cert) {
			return nil, problem.Invalid("key_mismatch", "the private key does not match the CA certificate")
		}
		if rec.KeyBlob, err = s.sealer.Seal(key, rec.ID); err != nil {
			return nil, fmt.Errorf("seal CA key: %w", err)
		}
	}
	return s.insert(ctx, caller, rec, "ca.import")
}

// findParent links an imported CA to a known CA that signed it, so chains are complete.
func (s *Service) findParent(ctx context.Context, cert *x509.Certificate) string {
	if bytes.Equal(cert.RawIssuer, cert.RawSubject) {
		return ""
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id, iss := range s.issuers {
		if bytes.Equal(cert.RawIssuer, iss.Cert.RawSubject) && cert.CheckSignatureFrom(iss.Cert) == nil {
			return id
		}
	}
	return ""
}

// FindIssuer returns the known CA that signed cert, if any (for certificate import).
func (s *Service) FindIssuer(ctx context.Context, cert *x509.Certificate) (*Issuer, bool) {
	id := s.findParent(ctx, cert)
	if id == "" {
		return nil, false
	}
	iss, err := s.issuer(ctx, id)
	return iss, err == nil
}
