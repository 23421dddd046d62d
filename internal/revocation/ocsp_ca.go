package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"
)

// certIDHashes are the CertID hash algorithms answered (those x/crypto/ocsp
// parses); SHA-1 is what nearly every client sends.
var certIDHashes = [...]crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// errNotAuthoritative means no response for the CA can be signed (it has
// expired); it becomes "unauthorized".
var errNotAuthoritative = errors.New("CA cannot sign OCSP responses")

// caIndex finds the CA a request is about. It is replaced whole by a reload.
type caIndex struct {
	byID  map[string]*caState
	byKey map[issuerKey]*caState
}

// issuerKey is a CertID's issuerKeyHash under one hash algorithm. The key
// hash rather than the name identifies a CA: names repeat across re-keyed CAs.
type issuerKey struct {
	hash crypto.Hash
	sum  string
}

// caState is one CA with its precomputed CertID parts and signing identity.
// Cache keys point to it, so a CA whose certificate changes gets a new state
// and its old cached responses become unreachable.
type caState struct {
	ca         CA
	nameHashes map[crypto.Hash][]byte
	keyHashes  map[crypto.Hash][]byte
	certIDs    map[crypto.Hash][]byte // CertID content before the serial

	current atomic.Pointer[identity]
	mu      sync.Mutex // serialises replacing current
	retryAt time.Time  // guarded by mu: after a failed rotation
}

func newCAState(ca CA) (*caState, error) {
	var spki, alg cryptobyte.String
	var bits asn1.BitString
	in := cryptobyte.String(ca.Certificate.RawSubjectPublicKeyInfo)
	if !in.ReadASN1(&spki, cbasn1.SEQUENCE) || !spki.ReadASN1(&alg, cbasn1.SEQUENCE) || !spki.ReadASN1BitString(&bits) {
		return nil, errors.New("cannot parse the CA's public key info")
	}
	st := &caState{
		ca:         ca,
		nameHashes: map[crypto.Hash][]byte{},
		keyHashes:  map[crypto.Hash][]byte{},
		certIDs:    map[crypto.Hash][]byte{},
	}
	for _, h := range certIDHashes {
		nh := h.New()
		nh.Write(ca.Certificate.RawSubject)
		kh := h.New()
		kh.Write(bits.RightAlign())
		st.nameHashes[h], st.keyHashes[h] = nh.Sum(nil), kh.Sum(nil)
		st.certIDs[h] = certIDPrefix(h, st.nameHashes[h], st.keyHashes[h])
	}
	return st, nil
}

// certIDPrefix encodes hashAlgorithm, issuerNameHash and issuerKeyHash,
// with NULL hash parameters as x/crypto/ocsp and OpenSSL write them.
func certIDPrefix(h crypto.Hash, nameHash, keyHash []byte) []byte {
	var oid asn1.ObjectIdentifier
	switch h {
	case crypto.SHA1:
		oid = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	case crypto.SHA256:
		oid = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	case crypto.SHA384:
		oid = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	case crypto.SHA512:
		oid = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1NULL()
	})
	b.AddASN1OctetString(nameHash)
	b.AddASN1OctetString(keyHash)
	return b.BytesOrPanic() // only fixed, valid values
}

// matches reports whether req's CertID names this CA.
func (st *caState) matches(req *ocsp.Request) bool {
	return bytes.Equal(st.nameHashes[req.HashAlgorithm], req.IssuerNameHash) &&
		bytes.Equal(st.keyHashes[req.HashAlgorithm], req.IssuerKeyHash)
}

func (idx *caIndex) match(caID string, req *ocsp.Request) *caState {
	if idx == nil {
		return nil
	}
	var st *caState
	if caID != "" {
		st = idx.byID[caID]
	} else {
		st = idx.byKey[issuerKey{req.HashAlgorithm, string(req.IssuerKeyHash)}]
	}
	if st == nil || !st.matches(req) {
		return nil
	}
	return st
}

// lookupCA returns the CA req is about, or nil. An unknown issuer re-reads
// the directory (at most once per CAReloadInterval), so a CA created on
// another node is answered for without a restart.
func (r *Responder) lookupCA(ctx context.Context, caID string, req *ocsp.Request) *caState {
	if st := r.index.Load().match(caID, req); st != nil {
		return st
	}
	r.reloadIfDue(ctx)
	return r.index.Load().match(caID, req)
}

// reloadIfDue re-reads the directory unless that happened less than
// CAReloadInterval ago (successfully or not), so neither unknown issuers nor
// a broken directory turn every request into a directory read.
func (r *Responder) reloadIfDue(ctx context.Context) {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	if !r.loadedAt.IsZero() && r.cfg.Now().Sub(r.loadedAt) < r.cfg.CAReloadInterval {
		return
	}
	if err := r.reloadLocked(ctx); err != nil {
		r.log.ErrorContext(ctx, "ocsp: reload CAs", "err", err)
	}
}

// Reload re-reads the CA directory and, in delegated mode, makes sure every
// CA with a key has a current responder certificate. Call it at start and
// after CAs are created, imported, re-keyed or removed. CAs whose certificate
// and key are unchanged keep their cached responses and responder certificate.
func (r *Responder) Reload(ctx context.Context) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	return r.reloadLocked(ctx)
}

func (r *Responder) reloadLocked(ctx context.Context) error {
	now := r.cfg.Now()
	r.loadedAt = now // also on failure: a broken directory is not hammered per request
	cas, err := r.dir.CAs(ctx)
	if err != nil {
		return fmt.Errorf("revocation: list CAs: %w", err)
	}
	old := r.index.Load()
	idx := &caIndex{byID: map[string]*caState{}, byKey: map[issuerKey]*caState{}}
	var errs []error
	for _, ca := range cas {
		st, err := r.caState(old, ca)
		if err != nil {
			errs = append(errs, fmt.Errorf("CA %s: %w", ca.ID, err))
			continue
		}
		idx.byID[ca.ID] = st
		for h, sum := range st.keyHashes {
			k := issuerKey{h, string(sum)}
			// Two records of one key (a re-issued CA certificate): prefer the
			// one that can sign.
			if prev := idx.byKey[k]; prev == nil || prev.ca.Signer == nil {
				idx.byKey[k] = st
			}
		}
	}
	r.index.Store(idx)
	for _, st := range idx.byID {
		if st.ca.Signer == nil {
			continue
		}
		if _, err := r.identity(ctx, st, now); err != nil && !errors.Is(err, errNotAuthoritative) {
			errs = append(errs, fmt.Errorf("CA %s: %w", st.ca.ID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("revocation: reload CAs: %w", err)
	}
	return nil
}

// caState reuses the previous state of an unchanged CA.
func (r *Responder) caState(old *caIndex, ca CA) (*caState, error) {
	switch {
	case ca.ID == "" || ca.Certificate == nil:
		return nil, errors.New("CA needs an id and a certificate")
	case ca.Signer != nil && !samePublicKey(ca.Certificate, ca.Signer):
		return nil, errors.New("signer does not hold the CA certificate's key")
	}
	if old != nil {
		if prev := old.byID[ca.ID]; prev != nil && bytes.Equal(prev.ca.Certificate.Raw, ca.Certificate.Raw) &&
			sameSigner(prev.ca.Signer, ca.Signer) {
			return prev, nil
		}
	}
	return newCAState(ca)
}

// sameSigner reports whether a and b are the same signer object. A keystore
// that reopens a key (an HSM session, say) hands out a new one, which must
// replace the old; signers whose type cannot be compared (ed25519.PrivateKey
// is a slice) count as replaced.
func sameSigner(a, b crypto.Signer) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return reflect.TypeOf(a).Comparable() && reflect.TypeOf(b).Comparable() && a == b
}

// identity returns the key and certificate that sign responses for st now,
// creating or rotating the delegated responder certificate when due.
func (r *Responder) identity(ctx context.Context, st *caState, now time.Time) (*identity, error) {
	if id := st.current.Load(); id != nil && id.usable(now) {
		return id, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.current.Load()
	if old != nil && old.usable(now) {
		return old, nil
	}
	stillValid := old != nil && now.Before(old.notAfter)
	if stillValid && now.Before(st.retryAt) {
		return old, nil
	}
	id, err := r.newIdentity(ctx, st, now)
	if err != nil {
		if stillValid && !errors.Is(err, errNotAuthoritative) {
			st.retryAt = now.Add(time.Minute)
			r.log.WarnContext(ctx, "ocsp: cannot rotate the responder certificate; keeping the current one",
				"ca", st.ca.ID, "expires", old.notAfter, "err", err)
			return old, nil
		}
		return nil, err
	}
	st.current.Store(id)
	return id, nil
}

func (r *Responder) newIdentity(ctx context.Context, st *caState, now time.Time) (*identity, error) {
	ca := st.ca.Certificate
	if !now.Before(ca.NotAfter) {
		return nil, errNotAuthoritative
	}
	if r.cfg.Mode == SignWithCA {
		return newIdentity(st.ca.Signer, ca, nil, ca.NotAfter, time.Time{})
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate responder key: %w", err)
	}
	der, err := r.responderCert(st, key, now)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse responder certificate: %w", err)
	}
	if err := r.cfg.RecordResponderCert(ctx, st.ca.ID, der); err != nil {
		return nil, fmt.Errorf("record responder certificate: %w", err)
	}
	rotateAt := cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) * 2 / 3)
	if cert.NotAfter.Equal(ca.NotAfter) {
		// Cut short by the CA's own expiry: a new one could not live longer.
		rotateAt = cert.NotAfter
	}
	r.log.InfoContext(ctx, "ocsp: new responder certificate", "ca", st.ca.ID,
		"serial", cert.SerialNumber.Text(16), "not_after", cert.NotAfter)
	return newIdentity(key, cert, cert, cert.NotAfter, rotateAt)
}

// oidOCSPNoCheck is id-pkix-ocsp-nocheck (RFC 6960 section 4.2.2.2.1):
// clients need not check the responder certificate's own revocation.
var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// responderCert issues the delegated responder certificate for key.
func (r *Responder) responderCert(st *caState, key *ecdsa.PrivateKey, now time.Time) ([]byte, error) {
	ca := st.ca.Certificate
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("responder certificate serial: %w", err)
	}
	raw[0] = raw[0]&0x7f | 0x40 // positive, never zero, 127 bits of entropy
	cn := "OCSP Responder " + ca.Subject.CommonName
	if len(cn) > 64 { // ub-common-name
		cn = cn[:64]
	}
	notBefore := now.Add(-clockSkew).Truncate(time.Second)
	if notBefore.Before(ca.NotBefore) {
		notBefore = ca.NotBefore
	}
	notAfter := now.Add(r.cfg.ResponderCertValidity).Truncate(time.Second)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(raw[:]),
		Subject:               pkix.Name{CommonName: cn, Organization: ca.Subject.Organization},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), st.ca.Signer)
	if err != nil {
		return nil, fmt.Errorf("issue responder certificate: %w", err)
	}
	return der, nil
}

// identity is a signing key with the certificate clients verify it by.
type identity struct {
	signer      crypto.Signer
	params      sigParams
	responderID []byte // [1] EXPLICIT Name
	certs       []byte // [0] EXPLICIT SEQUENCE OF Certificate, nil when the CA signs
	notAfter    time.Time
	rotateAt    time.Time // zero: never
	verified    atomic.Bool
}

func newIdentity(signer crypto.Signer, subject, include *x509.Certificate, notAfter, rotateAt time.Time) (*identity, error) {
	p, err := signatureParams(signer.Public(), 0)
	if err != nil {
		return nil, err
	}
	id := &identity{signer: signer, params: p, notAfter: notAfter, rotateAt: rotateAt}
	id.responderID = append(appendHeader(nil, 0xa1, len(subject.RawSubject)), subject.RawSubject...)
	if include != nil {
		seq := append(appendHeader(nil, tagSequence, len(include.Raw)), include.Raw...)
		id.certs = append(appendHeader(nil, 0xa0, len(seq)), seq...)
	}
	return id, nil
}

// usable reports whether the identity may sign now without replacement.
func (id *identity) usable(now time.Time) bool {
	if !now.Before(id.notAfter) {
		return false
	}
	return id.rotateAt.IsZero() || now.Before(id.rotateAt)
}
