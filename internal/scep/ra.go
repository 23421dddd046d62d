package scep

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/store"
)

// kindRA holds each CA's SCEP registration authority: an RSA key (sealed
// like CA keys) and its certificate, shared by every node so that a client
// may fetch GetCACert from one node and send PKIOperation to another.
// ID: the CA id.
const kindRA = "scep.ra"

// raValidity and raRenewBefore: the RA certificate is short-lived and
// replaced a month before it ends (a client holding the old one then has a
// month to fetch the new one).
const (
	raValidity    = 365 * 24 * time.Hour
	raRenewBefore = 30 * 24 * time.Hour
	raKeyBits     = 2048
)

// raPair is a CA's RA key and certificate, ready to use.
type raPair struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

type raRecord struct {
	CertDER   []byte `json:"cert_der"`
	SealedKey []byte `json:"sealed_key"`
}

func raKeyID(caID string) string { return "scep-ra:" + caID }

// ra returns the RA of a CA, creating (or replacing) it when missing or
// near its end. Callers on every node agree through the store: the first
// insert wins and the others load it.
func (s *Service) ra(ctx context.Context, iss *ca.Issuer) (*raPair, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	p, ok := s.ras[iss.CA.ID]
	s.mu.Unlock()
	if ok && now.Add(raRenewBefore).Before(p.cert.NotAfter) {
		return p, nil
	}
	// One slow path at a time on this node: a burst of first requests must
	// not certify a burst of RAs.
	s.raMu.Lock()
	defer s.raMu.Unlock()
	s.mu.Lock()
	p, ok = s.ras[iss.CA.ID]
	s.mu.Unlock()
	if ok && now.Add(raRenewBefore).Before(p.cert.NotAfter) {
		return p, nil
	}
	o, err := s.d.Store.GetProtocolObject(ctx, kindRA, iss.CA.ID)
	switch {
	case err == nil:
		if p, err = s.openRA(o, iss.CA.ID); err != nil {
			return nil, err
		}
		if !now.Add(raRenewBefore).Before(p.cert.NotAfter) {
			if p, err = s.createRA(ctx, iss, o); err != nil {
				return nil, err
			}
		}
	case errors.Is(err, store.ErrNotFound):
		if p, err = s.createRA(ctx, iss, nil); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("load SCEP RA: %w", err)
	}
	s.mu.Lock()
	s.ras[iss.CA.ID] = p
	s.mu.Unlock()
	return p, nil
}

func (s *Service) openRA(o *store.ProtocolObject, caID string) (*raPair, error) {
	var rec raRecord
	if err := json.Unmarshal(o.Data, &rec); err != nil {
		return nil, fmt.Errorf("SCEP RA of %s is corrupt: %w", caID, err)
	}
	cert, err := x509.ParseCertificate(rec.CertDER)
	if err != nil {
		return nil, fmt.Errorf("SCEP RA certificate of %s: %w", caID, err)
	}
	signer, err := s.d.Sealer.Open(rec.SealedKey, raKeyID(caID))
	if err != nil {
		return nil, fmt.Errorf("open SCEP RA key of %s: %w", caID, err)
	}
	key, ok := signer.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("SCEP RA key of %s is not RSA", caID)
	}
	return &raPair{cert: cert, key: key}, nil
}

// createRA issues a new RA certificate from the CA, records it in the
// inventory, and stores it (replacing old, if given).
func (s *Service) createRA(ctx context.Context, iss *ca.Issuer, old *store.ProtocolObject) (*raPair, error) {
	if iss.Signer == nil {
		return nil, fmt.Errorf("CA %s has no key to certify a SCEP RA", iss.CA.Name)
	}
	key, err := rsa.GenerateKey(rand.Reader, raKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate SCEP RA key: %w", err)
	}
	serial, err := certutil.NewSerial()
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	notAfter := now.Add(raValidity)
	if iss.Cert.NotAfter.Before(notAfter) {
		notAfter = iss.Cert.NotAfter
	}
	tmpl := &x509.Certificate{SerialNumber: serial,
		Subject:   pkix.Name{CommonName: "Signet SCEP RA (" + iss.Cert.Subject.CommonName + ")", Organization: iss.Cert.Subject.Organization},
		NotBefore: now.Add(-time.Minute), NotAfter: notAfter,
		// Signing CertReps and receiving encrypted requests is all an RA does.
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, key.Public(), iss.Signer)
	if err != nil {
		return nil, fmt.Errorf("certify SCEP RA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse SCEP RA certificate: %w", err)
	}
	sealed, err := s.d.Sealer.Seal(crypto.Signer(key), raKeyID(iss.CA.ID))
	if err != nil {
		return nil, fmt.Errorf("seal SCEP RA key: %w", err)
	}
	if err := s.d.Recorder.RecordServerCertificate(ctx, iss.CA.ID, "scep-ra", der); err != nil {
		return nil, err
	}
	data, _ := json.Marshal(raRecord{CertDER: der, SealedKey: sealed}) // plain record
	o := &store.ProtocolObject{Kind: kindRA, ID: iss.CA.ID, Status: "active", Data: data, CreatedAt: now, UpdatedAt: now}
	err = s.d.Store.Update(ctx, func(tx store.Tx) error {
		if old != nil {
			o.CreatedAt = old.CreatedAt
			return tx.UpdateProtocolObject(ctx, o, "active")
		}
		return tx.InsertProtocolObject(ctx, o)
	})
	if errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrConflict) {
		// Another node made one first: use it.
		cur, gerr := s.d.Store.GetProtocolObject(ctx, kindRA, iss.CA.ID)
		if gerr != nil {
			return nil, fmt.Errorf("load SCEP RA: %w", gerr)
		}
		return s.openRA(cur, iss.CA.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("store SCEP RA: %w", err)
	}
	s.log.InfoContext(ctx, "SCEP RA certificate issued", "ca", iss.CA.Name, "serial", certutil.SerialHex(serial), "not_after", notAfter)
	return &raPair{cert: cert, key: key}, nil
}
