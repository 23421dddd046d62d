// Package keystore keeps CA private keys encrypted at rest. A software key is
// sealed with AES-256-GCM under a key-encryption key (KEK) derived from the
// operator's passphrase with scrypt; the sealed blob is self-describing so
// KDF parameters can change without breaking old blobs. Keys are decrypted
// once, into a crypto.Signer, and never written in clear.
//
// Blob format (JSON, []byte fields base64 as encoding/json writes them):
//
//	{"v":1,"kdf":"scrypt","n":32768,"r":8,"p":1,"salt":…,"nonce":…,"ct":…}
//
// ct is AES-256-GCM(KEK, nonce, PKCS#8 DER) with the key id as additional
// data, so a blob only opens under the CA record it was sealed for. The
// header (salt, n, r, p) needs no separate authentication: changing any of
// it changes the KEK and the GCM tag no longer verifies.
package keystore

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"sync"

	"golang.org/x/crypto/scrypt"

	"github.com/signet-pki/signet/internal/problem"
)

// scrypt parameters for new blobs (2^15 is the interactive-login
// recommendation; unsealing happens once per CA at start).
const (
	scryptN     = 1 << 15
	scryptR     = 8
	scryptP     = 1
	kekLen      = 32 // AES-256
	saltLen     = 16
	minPassLen  = 12
	blobVersion = 1
	kdfScrypt   = "scrypt"
)

// Limits on what Open accepts, so a damaged or hostile blob cannot make the
// KDF allocate gigabytes or spin for minutes. scrypt needs 128*N*r bytes;
// the cap (256 MiB) leaves 8x headroom over today's parameters (32 MiB).
const (
	maxBlobLen     = 64 << 10
	maxScryptNR    = 1 << 21
	maxScryptR     = 32
	maxScryptP     = 16
	minBlobSaltLen = 8
	maxBlobSaltLen = 64
)

// blob is the sealed form of one key.
type blob struct {
	V     int    `json:"v"`
	KDF   string `json:"kdf"`
	N     int    `json:"n"`
	R     int    `json:"r"`
	P     int    `json:"p"`
	Salt  []byte `json:"salt"`
	Nonce []byte `json:"nonce"`
	CT    []byte `json:"ct"`
}

// kdfParams names one derived KEK.
type kdfParams struct {
	salt    string
	n, r, p int
}

// kekEntry derives its KEK once; concurrent Opens of blobs sharing a salt
// wait for the one derivation instead of repeating it, while blobs with
// other salts derive in parallel.
type kekEntry struct {
	once sync.Once
	aead cipher.AEAD
	err  error
}

// Sealer seals and opens keys under one passphrase. It is safe for
// concurrent use.
type Sealer struct {
	passphrase []byte
	seal       kdfParams   // the salt and parameters new blobs are sealed with
	sealAEAD   cipher.AEAD // AES-256-GCM under the sealing KEK

	mu   sync.Mutex
	keks map[kdfParams]*kekEntry // KEKs for blobs sealed with other salts
}

// NewSealer checks the passphrase and derives the sealing KEK once (with a
// fresh random salt), so sealing several CAs in one process stays cheap.
func NewSealer(passphrase []byte) (*Sealer, error) {
	if len(passphrase) < minPassLen {
		return nil, problem.Invalid("passphrase_too_short",
			"the CA key passphrase needs at least %d characters, it has %d", minPassLen, len(passphrase))
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("keystore salt: %w", err)
	}
	s := &Sealer{
		passphrase: append([]byte(nil), passphrase...),
		seal:       kdfParams{salt: string(salt), n: scryptN, r: scryptR, p: scryptP},
		keks:       map[kdfParams]*kekEntry{},
	}
	e := s.entry(s.seal)
	if _, err := e.get(s.passphrase, s.seal); err != nil {
		return nil, err
	}
	s.sealAEAD = e.aead
	return s, nil
}

// Seal encrypts key (an RSA, ECDSA or Ed25519 software key) as PKCS#8.
// keyID is bound as additional data so the blob cannot be moved onto
// another CA record.
func (s *Sealer) Seal(key crypto.Signer, keyID string) ([]byte, error) {
	if keyID == "" {
		return nil, problem.Invalid("key_id_required", "a key id is required to seal a CA key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		pe := problem.Invalid("key_type_unsupported", "CA key %s cannot be stored as a software key", keyID)
		pe.Err = err
		return nil, pe
	}
	defer clear(der)
	return s.sealBytes(der, keyID)
}

// SealSecret encrypts any other secret Signet must be able to read back (an
// upstream CA's credentials, a MAC key), bound to id the same way as a CA
// key; OpenSecret reverses it.
func (s *Sealer) SealSecret(secret []byte, id string) ([]byte, error) {
	if id == "" {
		return nil, problem.Invalid("key_id_required", "an id is required to seal a secret")
	}
	return s.sealBytes(secret, "secret:"+id)
}

// OpenSecret decrypts a blob made by SealSecret for id; errors as Open's.
func (s *Sealer) OpenSecret(sealed []byte, id string) ([]byte, error) {
	return s.openBytes(sealed, "secret:"+id, "secret "+id)
}

func (s *Sealer) sealBytes(plain []byte, aad string) ([]byte, error) {
	nonce := make([]byte, s.sealAEAD.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	b := blob{
		V: blobVersion, KDF: kdfScrypt, N: s.seal.n, R: s.seal.r, P: s.seal.p,
		Salt:  []byte(s.seal.salt),
		Nonce: nonce,
		CT:    s.sealAEAD.Seal(nil, nonce, plain, []byte(aad)),
	}
	return json.Marshal(b)
}

// Open decrypts a blob made by Seal for keyID. A wrong passphrase, a blob
// sealed for another key id and a tampered blob all fail with
// "key_decrypt_failed" (GCM cannot tell them apart); a blob that is not a
// sealed key at all fails with "key_blob_malformed".
func (s *Sealer) Open(sealed []byte, keyID string) (crypto.Signer, error) {
	der, err := s.openBytes(sealed, keyID, "CA key "+keyID)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, malformed("CA key "+keyID, "does not hold a PKCS#8 key")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, malformed("CA key "+keyID, "holds a key that cannot sign")
	}
	return signer, nil
}

// openBytes opens a blob sealed with additional data aad; what names it in errors.
func (s *Sealer) openBytes(sealed []byte, aad, what string) ([]byte, error) {
	b, err := parseBlob(sealed)
	if err != nil {
		pe := malformed(what, "is malformed")
		pe.Err = err
		return nil, pe
	}
	p := kdfParams{salt: string(b.Salt), n: b.N, r: b.R, p: b.P}
	aead, err := s.entry(p).get(s.passphrase, p)
	if err != nil {
		return nil, err
	}
	if len(b.Nonce) != aead.NonceSize() {
		return nil, malformed(what, "has a bad nonce")
	}
	plain, err := aead.Open(nil, b.Nonce, b.CT, []byte(aad))
	if err != nil {
		return nil, problem.Invalid("key_decrypt_failed",
			"cannot decrypt %s: wrong passphrase or corrupted key", what)
	}
	return plain, nil
}

func malformed(what, problemText string) *problem.Error {
	return problem.Invalid("key_blob_malformed", "sealed %s %s", what, problemText)
}

// parseBlob decodes and bounds-checks a blob without deriving anything.
func parseBlob(sealed []byte) (*blob, error) {
	if len(sealed) > maxBlobLen {
		return nil, fmt.Errorf("blob is %d bytes, over %d", len(sealed), maxBlobLen)
	}
	var b blob
	if err := json.Unmarshal(sealed, &b); err != nil {
		return nil, err
	}
	switch {
	case b.V != blobVersion:
		return nil, fmt.Errorf("unsupported version %d", b.V)
	case b.KDF != kdfScrypt:
		return nil, fmt.Errorf("unsupported kdf %q", b.KDF)
	case b.N < 2 || b.N&(b.N-1) != 0:
		return nil, fmt.Errorf("scrypt N=%d is not a power of two > 1", b.N)
	case b.R < 1 || b.R > maxScryptR || b.P < 1 || b.P > maxScryptP:
		return nil, fmt.Errorf("scrypt r=%d p=%d out of range", b.R, b.P)
	case b.N > maxScryptNR/b.R:
		return nil, fmt.Errorf("scrypt N=%d r=%d needs too much memory", b.N, b.R)
	case len(b.Salt) < minBlobSaltLen || len(b.Salt) > maxBlobSaltLen:
		return nil, fmt.Errorf("salt of %d bytes", len(b.Salt))
	case len(b.CT) == 0:
		return nil, fmt.Errorf("no ciphertext")
	}
	return &b, nil
}

// entry returns the cache slot for p, creating it if needed. The lock is
// held only for the map access, never during a derivation.
func (s *Sealer) entry(p kdfParams) *kekEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.keks[p]
	if !ok {
		e = &kekEntry{}
		s.keks[p] = e
	}
	return e
}

func (e *kekEntry) get(passphrase []byte, p kdfParams) (cipher.AEAD, error) {
	e.once.Do(func() {
		kek, err := scrypt.Key(passphrase, []byte(p.salt), p.n, p.r, p.p, kekLen)
		if err != nil {
			e.err = fmt.Errorf("derive key-encryption key: %w", err)
			return
		}
		e.aead, e.err = newGCM(kek)
		clear(kek) // the cipher keeps its own expanded key schedule
	})
	return e.aead, e.err
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
