package issuance

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// ImportInput is a PEM bundle of certificates from any issuer.
type ImportInput struct {
	PEM          string
	Org          string // id or name; default: the caller's
	Owner        string // defaults to the caller
	Labels       map[string]string
	CustomFields map[string]string
}

// Skipped explains why one certificate of a bundle was not imported.
type Skipped struct {
	SHA256 string `json:"sha256"`
	Serial string `json:"serial"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// ImportResult lists what an import did with each certificate.
type ImportResult struct {
	Imported []store.Certificate
	Skipped  []Skipped
}

// Import adds certificates Signet did not issue to the inventory, linking
// each to a known CA when one signed it. Certificates already present are
// skipped, not duplicated.
func (s *Service) Import(ctx context.Context, in ImportInput) (*ImportResult, error) {
	caller, err := auth.Require(ctx, auth.PermCertImport)
	if err != nil {
		return nil, err
	}
	orgID, err := auth.TargetOrg(ctx, s.store, caller, in.Org)
	if err != nil {
		return nil, err
	}
	certs, err := certutil.ParseCertificates([]byte(in.PEM))
	if err != nil {
		return nil, err
	}
	if in.Owner == "" {
		in.Owner = caller.ID
	}
	if err := s.checkOwner(ctx, caller, orgID, in.Owner); err != nil {
		return nil, err
	}
	if err := s.attrs.CheckAttributes(ctx, orgID, in.Labels, in.CustomFields, false); err != nil {
		return nil, err
	}
	now := s.now()
	res := &ImportResult{}
	recs := make([]*store.Certificate, 0, len(certs))
	for _, c := range certs {
		rec := &store.Certificate{
			Serial: certutil.SerialHex(c.SerialNumber), Issuer: c.Issuer.String(), Subject: c.Subject.String(),
			CommonName: c.Subject.CommonName, SANs: sanStrings(c), KeyType: certutil.KeyTypeLabel(c.PublicKey),
			NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), SHA1: certutil.SHA1Hex(c.Raw),
			SHA256: certutil.SHA256Hex(c.Raw), DER: c.Raw, Status: store.CertActive, Source: store.SourceImported,
			Owner: in.Owner, OrgID: orgID, Labels: in.Labels, CustomFields: in.CustomFields, CreatedAt: now, UpdatedAt: now,
		}
		if iss, ok := s.cas.FindIssuer(ctx, c); ok {
			rec.CAID = iss.CA.ID
		}
		recs = append(recs, rec)
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		res.Imported, res.Skipped = nil, nil // the store may retry a batch
		for _, rec := range recs {
			skip, err := importOne(ctx, tx, rec)
			if err != nil {
				return err
			}
			if skip != nil {
				res.Skipped = append(res.Skipped, *skip)
				continue
			}
			res.Imported = append(res.Imported, *rec)
			tx.AppendAudit(caller.Event(now, rec.OrgID, "certificate.import", "certificate", rec.Serial,
				map[string]any{"subject": rec.Subject, "issuer": rec.Issuer, "sha256": rec.SHA256}))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func importOne(ctx context.Context, tx store.Tx, rec *store.Certificate) (*Skipped, error) {
	if _, err := tx.GetCertificateBySHA256(ctx, rec.SHA256); err == nil {
		return &Skipped{SHA256: rec.SHA256, Serial: rec.Serial, Code: "already_present", Reason: "the certificate is already in the inventory"}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("check for existing certificate: %w", err)
	}
	if _, err := tx.GetCertificate(ctx, rec.Serial); err == nil {
		return &Skipped{SHA256: rec.SHA256, Serial: rec.Serial, Code: "serial_conflict",
			Reason: "another certificate with this serial is already in the inventory"}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("check serial: %w", err)
	}
	if err := tx.InsertCertificate(ctx, rec); err != nil {
		return nil, fmt.Errorf("insert imported certificate: %w", err)
	}
	return nil, nil
}

// DeleteCertificate removes a certificate Signet did not issue (imported or
// discovered) from the inventory, with an audit event that keeps what it
// was. Only managers and admins of its organization may. A certificate
// Signet issued is refused: it is the CA's record of what it signed, which
// CRLs, OCSP and the audit log refer to (revoke it instead). A discovered
// certificate comes back if a later scan finds it served again.
func (s *Service) DeleteCertificate(ctx context.Context, serial string) (*store.Certificate, error) {
	// Permission first, so that a requester learns nothing of which serials exist.
	if _, err := auth.Require(ctx, auth.PermCertDelete); err != nil {
		return nil, err
	}
	c, err := s.getCertificate(ctx, serial)
	if err != nil {
		return nil, err
	}
	caller, err := auth.RequireIn(ctx, auth.PermCertDelete, c.OrgID)
	if err != nil {
		return nil, err
	}
	if c.Source == store.SourceIssued {
		return nil, errIssuedNotDeletable(c.Serial)
	}
	now := s.now()
	err = s.store.Update(ctx, func(tx store.Tx) error {
		err := tx.DeleteCertificate(ctx, c.Serial)
		switch {
		case errors.Is(err, store.ErrNotFound): // deleted meanwhile
			return problem.NotFound("certificate_not_found", "no certificate with serial %s", c.Serial)
		case errors.Is(err, store.ErrConflict):
			return errIssuedNotDeletable(c.Serial)
		case err != nil:
			return fmt.Errorf("delete certificate %s: %w", c.Serial, err)
		}
		tx.AppendAudit(caller.Event(now, c.OrgID, "certificate.delete", "certificate", c.Serial, map[string]any{
			"source": c.Source, "subject": c.Subject, "issuer": c.Issuer, "sha256": c.SHA256, "not_after": c.NotAfter}))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// CodeIssuedNotDeletable is the problem code of a refused deletion of a
// certificate Signet issued; compatibility APIs map it to their own errors.
const CodeIssuedNotDeletable = "certificate_issued_by_signet"

func errIssuedNotDeletable(serial string) error {
	return problem.Conflict(CodeIssuedNotDeletable, "certificate %s was issued by Signet and stays in the inventory "+
		"(CRLs, OCSP and the audit log refer to it); only imported or discovered certificates can be deleted: revoke it instead", serial)
}

// Download formats.
const (
	FormatPEM   = "pem"
	FormatDER   = "der"
	FormatChain = "chain"
	FormatPKCS7 = "pkcs7"
)

// Download is a certificate rendered for delivery.
type Download struct {
	Body        []byte
	ContentType string
	Extension   string
}

// Download renders a certificate as PEM, DER, a PEM chain (leaf to root) or PKCS#7.
func (s *Service) Download(ctx context.Context, serial, format string) (*Download, error) {
	c, err := s.getCertificate(ctx, serial)
	if err != nil {
		return nil, err
	}
	if _, err := auth.RequireDownload(ctx, c.OrgID, c.Owner, c.Serial); err != nil {
		return nil, err
	}
	return Render(c.DER, s.chainDER(ctx, c), format)
}

// Render encodes a leaf and its issuing chain in one of the download formats.
func Render(leaf []byte, chain [][]byte, format string) (*Download, error) {
	all := append([][]byte{leaf}, chain...)
	switch format {
	case "", FormatPEM:
		return &Download{Body: certutil.EncodeCertsPEM(leaf), ContentType: "application/x-pem-file", Extension: "pem"}, nil
	case FormatDER:
		return &Download{Body: leaf, ContentType: "application/pkix-cert", Extension: "cer"}, nil
	case FormatChain:
		return &Download{Body: certutil.EncodeCertsPEM(all...), ContentType: "application/x-pem-file", Extension: "pem"}, nil
	case FormatPKCS7:
		p7, err := certutil.EncodePKCS7(all...)
		if err != nil {
			return nil, err
		}
		return &Download{Body: p7, ContentType: "application/pkcs7-mime", Extension: "p7b"}, nil
	case "pkcs12":
		return nil, problem.Invalid("format_unavailable", "PKCS#12 is only available at issuance, for server-generated keys: Signet never stores private keys")
	default:
		return nil, problem.Invalid("format_invalid", "unknown format %q (want pem, der, chain or pkcs7)", format)
	}
}

// RecordServerCertificate puts a certificate Signet signed for its own use
// (an OCSP responder's) into the inventory, with its audit event, before it
// is handed to any client: every certificate a client receives is recorded.
func (s *Service) RecordServerCertificate(ctx context.Context, caID, purpose string, der []byte) error {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parse %s certificate: %w", purpose, err)
	}
	iss, err := s.cas.Issuer(ctx, caID)
	if err != nil {
		return err
	}
	now := s.now()
	rec := &store.Certificate{Serial: certutil.SerialHex(c.SerialNumber), CAID: caID, OrgID: iss.CA.OrgID,
		Issuer: c.Issuer.String(), Subject: c.Subject.String(), CommonName: c.Subject.CommonName, SANs: sanStrings(c),
		KeyType: certutil.KeyTypeLabel(c.PublicKey), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		SHA1: certutil.SHA1Hex(der), SHA256: certutil.SHA256Hex(der), DER: der, Status: store.CertActive,
		Source: store.SourceIssued, Owner: auth.System().ID, Labels: map[string]string{"purpose": purpose},
		CreatedAt: now, UpdatedAt: now}
	return s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertCertificate(ctx, rec); err != nil {
			return fmt.Errorf("record %s certificate: %w", purpose, err)
		}
		tx.AppendAudit(auth.System().Event(now, rec.OrgID, "certificate.issue", "certificate", rec.Serial,
			map[string]any{"purpose": purpose, "ca": caID, "subject": rec.Subject, "not_after": rec.NotAfter}))
		return nil
	})
}

// ImportDiscovered records a certificate found on the network (source
// "discovered") unless the inventory has it already, which is then returned
// as is: a certificate Signet issued stays an issued one.
func (s *Service) ImportDiscovered(ctx context.Context, orgID string, der []byte) (*store.Certificate, error) {
	caller, err := auth.RequireIn(ctx, auth.PermDiscovery, orgID)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, problem.Invalid("certificate_invalid", "the served certificate does not parse: %v", err)
	}
	now := s.now()
	rec := &store.Certificate{
		Serial: certutil.SerialHex(c.SerialNumber), OrgID: orgID, Issuer: c.Issuer.String(), Subject: c.Subject.String(),
		CommonName: c.Subject.CommonName, SANs: sanStrings(c), KeyType: certutil.KeyTypeLabel(c.PublicKey),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), SHA1: certutil.SHA1Hex(der), SHA256: certutil.SHA256Hex(der),
		DER: der, Status: store.CertActive, Source: store.SourceDiscovered, CreatedAt: now, UpdatedAt: now,
	}
	if existing, err := s.store.GetCertificateBySHA256(ctx, rec.SHA256); err == nil {
		return existing, nil
	}
	if iss, ok := s.cas.FindIssuer(ctx, c); ok {
		rec.CAID = iss.CA.ID
	}
	var out *store.Certificate
	err = s.store.Update(ctx, func(tx store.Tx) error {
		out = nil
		skip, err := importOne(ctx, tx, rec)
		if err != nil {
			return err
		}
		if skip != nil {
			if existing, err := tx.GetCertificateBySHA256(ctx, rec.SHA256); err == nil {
				out = existing
				return nil
			}
			return problem.Conflict(skip.Code, "%s", skip.Reason)
		}
		tx.AppendAudit(caller.Event(now, orgID, "certificate.discover", "certificate", rec.Serial,
			map[string]any{"subject": rec.Subject, "issuer": rec.Issuer, "sha256": rec.SHA256}))
		out = rec
		return nil
	})
	return out, err
}
