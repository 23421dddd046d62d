// Package keystore keeps CA private keys encrypted at rest. A software key is
// sealed with AES-256-GCM under a key-encryption key derived from the
// operator's passphrase with scrypt; the sealed blob is self-describing so
// KDF parameters can change without breaking old blobs. Keys are decrypted
// once, into a crypto.Signer, and never written in clear.
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
	minPassLen  = 12
	blobVersion = 1
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

type kdfParams struct {
	salt    string
	n, r, p int
}

// Sealer seals and opens keys under one passphrase.
type Sealer struct {
	passphrase []byte
	sealSalt   []byte
	sealKEK    []byte

	mu   sync.Mutex
	keks map[kdfParams][]byte // derived keys for blobs with other salts
}

// NewSealer derives the sealing key once, so creating several CAs stays cheap.
func NewSealer(passphrase []byte) (*Sealer, error) {
	if len(passphrase) < minPassLen {
		return nil, problem.Invalid("passphrase_too_short", "the CA key passphrase needs at least %d characters", minPassLen)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("keystore salt: %w", err)
	}
	kek, err := scrypt.Key(passphrase, salt, scryptN, scryptR, scryptP, 32)
	if err != nil {
		return nil, fmt.Errorf("derive key-encryption key: %w", err)
	}
	s := &Sealer{passphrase: append([]byte(nil), passphrase...), sealSalt: salt, sealKEK: kek, keks: map[kdfParams][]byte{}}
	s.keks[kdfParams{string(salt), scryptN, scryptR, scryptP}] = kek
	return s, nil
}

// Seal encrypts key; keyID is bound as additional data so a blob cannot be
// moved onto another CA record.
func (s *Sealer) Seal(key crypto.Signer, keyID string) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	defer clear(der)
	gcm, err := newGCM(s.sealKEK)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	b := blob{V: blobVersion, KDF: "scrypt", N: scryptN, R: scryptR, P: scryptP, Salt: s.sealSalt, Nonce: nonce,
		CT: gcm.Seal(nil, nonce, der, []byte(keyID))}
	return json.Marshal(b)
}

// Open decrypts a sealed key.
func (s *Sealer) Open(sealed []byte, keyID string) (crypto.Signer, error) {
	var b blob
	if err := json.Unmarshal(sealed, &b); err != nil || b.V != blobVersion || b.KDF != "scrypt" || len(b.Salt) == 0 ||
		b.N < 2 || b.N > 1<<20 || b.R < 1 || b.R > 32 || b.P < 1 || b.P > 16 {
		return nil, problem.Invalid("key_blob_malformed", "sealed key %s is malformed", keyID)
	}
	kek, err := s.kek(kdfParams{string(b.Salt), b.N, b.R, b.P})
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	if len(b.Nonce) != gcm.NonceSize() {
		return nil, problem.Invalid("key_blob_malformed", "sealed key %s is malformed", keyID)
	}
	der, err := gcm.Open(nil, b.Nonce, b.CT, []byte(keyID))
	if err != nil {
		return nil, problem.Invalid("key_decrypt_failed", "cannot decrypt CA key %s: wrong passphrase or corrupted key", keyID)
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, problem.Invalid("key_blob_malformed", "sealed key %s does not hold a PKCS#8 key", keyID)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, problem.Invalid("key_blob_malformed", "sealed key %s cannot sign", keyID)
	}
	return signer, nil
}

func (s *Sealer) kek(p kdfParams) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keks[p]; ok {
		return k, nil
	}
	k, err := scrypt.Key(s.passphrase, []byte(p.salt), p.n, p.r, p.p, 32)
	if err != nil {
		return nil, fmt.Errorf("derive key-encryption key: %w", err)
	}
	s.keks[p] = k
	return k, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCM(block)
}
