package keystore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/signet-pki/signet/internal/problem"
)

const testPass = "correct horse battery staple"

// Sealers are costly to build (one scrypt derivation each), so tests share.
var (
	sealerOnce sync.Once
	sealerVal  *Sealer
	sealerErr  error
)

func testSealer(t *testing.T) *Sealer {
	t.Helper()
	sealerOnce.Do(func() { sealerVal, sealerErr = NewSealer([]byte(testPass)) })
	if sealerErr != nil {
		t.Fatalf("NewSealer: %v", sealerErr)
	}
	return sealerVal
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testKeys(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	rsaOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"rsa2048": rsaKey, "p256": p256, "p384": p384, "ed25519": ed}
}

// checkSigns signs with got and verifies against want's public key.
func checkSigns(t *testing.T, got, want crypto.Signer) {
	t.Helper()
	msg := []byte("to be signed by a CA")
	digest := sha256.Sum256(msg)
	var (
		sig []byte
		err error
	)
	switch pub := want.Public().(type) {
	case *rsa.PublicKey:
		if sig, err = got.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
		}
	case *ecdsa.PublicKey:
		if sig, err = got.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil && !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatal("ECDSA signature does not verify against the original public key")
		}
	case ed25519.PublicKey:
		if sig, err = got.Sign(rand.Reader, msg, crypto.Hash(0)); err == nil && !ed25519.Verify(pub, msg, sig) {
			t.Fatal("Ed25519 signature does not verify against the original public key")
		}
	default:
		t.Fatalf("unexpected public key type %T", pub)
	}
	if err != nil {
		t.Fatalf("sign/verify: %v", err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !problem.Is(err, code) {
		t.Fatalf("got error %v, want code %q", err, code)
	}
	if problem.KindOf(err) != problem.KindInvalid {
		t.Fatalf("got kind %v, want invalid", problem.KindOf(err))
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := testSealer(t)
	// A second sealer under the same passphrase has its own salt, so opening
	// its blobs exercises the derive-and-cache path.
	other, err := NewSealer([]byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			sealed, err := s.Seal(key, "ca-"+name)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			for _, opener := range []*Sealer{s, other} {
				got, err := opener.Open(sealed, "ca-"+name)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if !got.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
					t.Fatal("opened key has a different public key")
				}
				checkSigns(t, got, key)
			}
		})
	}
}

func TestSealedBlobFormat(t *testing.T) {
	s := testSealer(t)
	sealed, err := s.Seal(testKeys(t)["p256"], "ca-1")
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(sealed, &b); err != nil {
		t.Fatalf("blob is not JSON: %v", err)
	}
	for k, want := range map[string]any{"v": 1.0, "kdf": "scrypt", "n": float64(1 << 15), "r": 8.0, "p": 1.0} {
		if b[k] != want {
			t.Errorf("%s = %v, want %v", k, b[k], want)
		}
	}
	for k, n := range map[string]int{"salt": 16, "nonce": 12} {
		raw, err := base64.StdEncoding.DecodeString(b[k].(string))
		if err != nil || len(raw) != n {
			t.Errorf("%s: %d bytes (%v), want %d", k, len(raw), err, n)
		}
	}
	// Two seals of the same key differ (fresh nonce).
	again, _ := s.Seal(testKeys(t)["p256"], "ca-1")
	if bytes.Equal(sealed, again) {
		t.Error("two seals produced the same blob")
	}
}

func TestSealedBlobHidesKey(t *testing.T) {
	s := testSealer(t)
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			sealed, err := s.Seal(key, "ca-"+name)
			if err != nil {
				t.Fatal(err)
			}
			var b blob
			if err := json.Unmarshal(sealed, &b); err != nil {
				t.Fatal(err)
			}
			const window = 12
			for i := 0; i+window <= len(der); i++ {
				w := der[i : i+window]
				if bytes.Contains(sealed, w) || bytes.Contains(b.CT, w) {
					t.Fatalf("blob contains PKCS#8 bytes [%d:%d]", i, i+window)
				}
			}
			// Nor the DER in base64, at any byte alignment.
			for shift := range 3 {
				enc := base64.StdEncoding.EncodeToString(der[shift:])
				enc = strings.TrimRight(enc, "=")
				for i := 0; i+16 <= len(enc)-4; i += 4 {
					if bytes.Contains(sealed, []byte(enc[i:i+16])) {
						t.Fatalf("blob contains base64 of PKCS#8 at %d (shift %d)", i, shift)
					}
				}
			}
		})
	}
}

func TestOpenFailures(t *testing.T) {
	s := testSealer(t)
	key := testKeys(t)["p256"]
	sealed, err := s.Seal(key, "ca-1")
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := NewSealer([]byte("not the right passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b *blob)) []byte {
		var b blob
		if err := json.Unmarshal(sealed, &b); err != nil {
			t.Fatal(err)
		}
		b.Salt, b.Nonce, b.CT = bytes.Clone(b.Salt), bytes.Clone(b.Nonce), bytes.Clone(b.CT)
		f(&b)
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name   string
		sealer *Sealer
		blob   []byte
		keyID  string
		code   string
	}{
		{"wrong passphrase", wrong, sealed, "ca-1", "key_decrypt_failed"},
		{"wrong key id", s, sealed, "ca-2", "key_decrypt_failed"},
		{"empty key id", s, sealed, "", "key_decrypt_failed"},
		{"flipped ciphertext byte", s, edit(func(b *blob) { b.CT[len(b.CT)/2] ^= 0x01 }), "ca-1", "key_decrypt_failed"},
		{"flipped tag byte", s, edit(func(b *blob) { b.CT[len(b.CT)-1] ^= 0x80 }), "ca-1", "key_decrypt_failed"},
		{"truncated ciphertext", s, edit(func(b *blob) { b.CT = b.CT[:len(b.CT)-1] }), "ca-1", "key_decrypt_failed"},
		{"changed nonce", s, edit(func(b *blob) { b.Nonce[0] ^= 0x01 }), "ca-1", "key_decrypt_failed"},
		{"changed salt", s, edit(func(b *blob) { b.Salt[0] ^= 0x01 }), "ca-1", "key_decrypt_failed"},
		{"garbage", s, []byte("this is not a sealed key"), "ca-1", "key_blob_malformed"},
		{"empty", s, nil, "ca-1", "key_blob_malformed"},
		{"PEM instead of blob", s, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "ca-1", "key_blob_malformed"},
		{"unknown version", s, edit(func(b *blob) { b.V = 2 }), "ca-1", "key_blob_malformed"},
		{"unknown kdf", s, edit(func(b *blob) { b.KDF = "pbkdf2" }), "ca-1", "key_blob_malformed"},
		{"N not a power of two", s, edit(func(b *blob) { b.N = 1<<15 + 1 }), "ca-1", "key_blob_malformed"},
		{"N too large", s, edit(func(b *blob) { b.N = 1 << 30 }), "ca-1", "key_blob_malformed"},
		{"r too large", s, edit(func(b *blob) { b.R = 1 << 20 }), "ca-1", "key_blob_malformed"},
		{"p zero", s, edit(func(b *blob) { b.P = 0 }), "ca-1", "key_blob_malformed"},
		{"no salt", s, edit(func(b *blob) { b.Salt = nil }), "ca-1", "key_blob_malformed"},
		{"short nonce", s, edit(func(b *blob) { b.Nonce = b.Nonce[:8] }), "ca-1", "key_blob_malformed"},
		{"no ciphertext", s, edit(func(b *blob) { b.CT = nil }), "ca-1", "key_blob_malformed"},
		{"oversized", s, bytes.Repeat([]byte(" "), maxBlobLen+1), "ca-1", "key_blob_malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.blob, tt.keyID)
			if got != nil {
				t.Fatal("Open returned a key")
			}
			wantCode(t, err, tt.code)
			if tt.code == "key_decrypt_failed" {
				want := "cannot decrypt CA key " + tt.keyID + ": wrong passphrase or corrupted key"
				if pe := problem.As(err); pe.Message != want {
					t.Fatalf("message %q, want %q", pe.Message, want)
				}
			}
		})
	}
}

// A blob authenticated under the right KEK and key id but holding something
// other than a PKCS#8 key is malformed, not a decryption failure.
func TestOpenNonPKCS8Plaintext(t *testing.T) {
	s := testSealer(t)
	nonce := make([]byte, 12)
	b := blob{V: 1, KDF: "scrypt", N: s.seal.n, R: s.seal.r, P: s.seal.p, Salt: []byte(s.seal.salt), Nonce: nonce,
		CT: s.sealAEAD.Seal(nil, nonce, []byte("not DER"), []byte("ca-1"))}
	sealed, _ := json.Marshal(b)
	_, err := s.Open(sealed, "ca-1")
	wantCode(t, err, "key_blob_malformed")
}

func TestSealRejects(t *testing.T) {
	s := testSealer(t)
	_, err := s.Seal(testKeys(t)["p256"], "")
	wantCode(t, err, "key_id_required")
	_, err = s.Seal(opaqueSigner{testKeys(t)["p256"]}, "ca-1")
	wantCode(t, err, "key_type_unsupported")
}

// opaqueSigner stands for a key that cannot be exported (an HSM key).
type opaqueSigner struct{ crypto.Signer }

func TestNewSealerPassphraseLength(t *testing.T) {
	tests := []struct {
		pass string
		ok   bool
	}{
		{"", false},
		{"short", false},
		{"elevenchars", false},
		{"twelve chars", true},
	}
	for _, tt := range tests {
		t.Run(tt.pass, func(t *testing.T) {
			_, err := NewSealer([]byte(tt.pass))
			if tt.ok {
				if err != nil {
					t.Fatalf("NewSealer: %v", err)
				}
				return
			}
			wantCode(t, err, "passphrase_too_short")
		})
	}
}

// NewSealer keeps its own copy: the caller may wipe its passphrase buffer.
func TestNewSealerCopiesPassphrase(t *testing.T) {
	pass := []byte(testPass)
	s, err := NewSealer(pass)
	if err != nil {
		t.Fatal(err)
	}
	clear(pass)
	sealed, err := testSealer(t).Seal(testKeys(t)["ed25519"], "ca-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(sealed, "ca-1"); err != nil {
		t.Fatalf("Open after the caller wiped its passphrase: %v", err)
	}
}

// Concurrent Opens (under -race) of blobs from several salts share one
// derivation per salt.
func TestOpenConcurrent(t *testing.T) {
	s := testSealer(t)
	other, err := NewSealer([]byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	key := testKeys(t)["p256"]
	blobs := make([][]byte, 0, 2)
	for _, sl := range []*Sealer{s, other} {
		b, err := sl.Seal(key, "ca-1")
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	opener, err := NewSealer([]byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			_, err := opener.Open(blobs[i%len(blobs)], "ca-1")
			if err == nil {
				_, err = opener.Seal(key, "ca-2")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(opener.keks); n != 3 {
		t.Fatalf("%d cached KEKs, want 3 (own + two foreign salts)", n)
	}
}

// TestSealSecret round-trips an arbitrary secret and checks that it is bound
// to its id, cannot be opened as a CA key, and fails under another passphrase.
func TestSealSecret(t *testing.T) {
	s, err := NewSealer([]byte("correct horse battery staple"))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"client_secret":"hunter2-but-longer"}`)
	blob, err := s.SealSecret(secret, "conn_1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, secret) || bytes.Contains(blob, []byte("hunter2")) {
		t.Fatal("sealed blob contains the secret")
	}
	got, err := s.OpenSecret(blob, "conn_1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("OpenSecret = %q, %v", got, err)
	}
	other, err := NewSealer([]byte("another passphrase entirely"))
	if err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() error{
		"other id":         func() error { _, err := s.OpenSecret(blob, "conn_2"); return err },
		"as a CA key":      func() error { _, err := s.Open(blob, "conn_1"); return err },
		"other passphrase": func() error { _, err := other.OpenSecret(blob, "conn_1"); return err },
	} {
		if err := open(); problem.As(err) == nil || problem.As(err).Code != "key_decrypt_failed" {
			t.Errorf("%s: %v, want key_decrypt_failed", name, err)
		}
	}
	if _, err := s.SealSecret(secret, ""); err == nil {
		t.Error("sealing without an id succeeded")
	}
}
