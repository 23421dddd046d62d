package acme

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/signet-pki/signet/internal/certutil"
)

// signatureAlgorithms are the JWS algorithms accounts may sign with.
var signatureAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.EdDSA}

// maxJWSBytes bounds a request body: a revocation carries a certificate,
// which with many names can reach tens of kilobytes.
const maxJWSBytes = 256 << 10

// keyRule says how a request must identify its signer (RFC 8555 section 6.2).
type keyRule int

const (
	useKID    keyRule = iota // an existing account's URL: everything but the two below
	useJWK                   // an embedded key: newAccount
	useKIDJWK                // either: revokeCert (account key, or the certificate's key)
)

// signed is a verified request: its signer and payload.
type signed struct {
	url     string
	payload []byte // "" for POST-as-GET
	acct    *account
	jwk     *jose.JSONWebKey // the embedded key, for useJWK / useKIDJWK requests signed by one
}

// postAsGet reports whether the request is a POST-as-GET (empty payload).
func (r *signed) postAsGet() bool { return len(r.payload) == 0 }

// flatJWS is the only serialization ACME allows: flattened JSON with a
// protected header and no unprotected one (RFC 8555 section 6.2).
type flatJWS struct {
	Protected *string `json:"protected"`
	Payload   *string `json:"payload"`
	Signature *string `json:"signature"`
}

// parseJWS checks the envelope and the protected header's fields; it does
// not verify the signature, which needs the key the header names.
func parseJWS(body []byte) (*jose.JSONWebSignature, *jose.Header, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // "header" and "signatures" are refused here too
	var flat flatJWS
	if err := dec.Decode(&flat); err != nil {
		return nil, nil, malformed("the body is not a flattened JWS without unprotected header: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, malformed("the body holds more than one JSON object")
	}
	if flat.Protected == nil || flat.Payload == nil || flat.Signature == nil {
		return nil, nil, malformed("a JWS needs protected, payload and signature")
	}
	jws, err := jose.ParseSignedJSON(string(body), signatureAlgorithms)
	if err != nil {
		var alg *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &alg) {
			e := newError(errBadSignatureAlgorithm, http.StatusBadRequest, "JWS algorithm %q is not supported", alg.Got)
			for _, a := range signatureAlgorithms {
				e.Algorithms = append(e.Algorithms, string(a))
			}
			return nil, nil, e
		}
		return nil, nil, malformed("the JWS cannot be parsed: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, nil, malformed("a JWS must carry exactly one signature")
	}
	h := jws.Signatures[0].Protected
	for _, name := range []jose.HeaderKey{"b64", "crit"} {
		if _, ok := h.ExtraHeaders[name]; ok {
			return nil, nil, malformed("the %q header parameter is not supported", name)
		}
	}
	if (h.KeyID == "") == (h.JSONWebKey == nil) {
		return nil, nil, malformed("the protected header must carry exactly one of kid and jwk")
	}
	return jws, &h, nil
}

// headerURL returns the protected "url" parameter.
func headerURL(h *jose.Header) (string, error) {
	u, ok := h.ExtraHeaders["url"].(string)
	if !ok || u == "" {
		return "", malformed("the protected header has no url")
	}
	return u, nil
}

// authenticate reads and verifies a POST's JWS for the resource at want
// (its absolute URL), resolves its signer by rule, and uses its nonce.
// The order of checks puts cheap refusals first and spends the nonce only
// on a request whose signature verified.
func (s *Service) authenticate(ctx context.Context, r *http.Request, d *directory, want string, rule keyRule) (*signed, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/jose+json" {
		e := malformed("requests must be application/jose+json")
		e.Status = http.StatusUnsupportedMediaType
		return nil, e
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJWSBytes+1))
	if err != nil {
		return nil, malformed("the body cannot be read: %v", err)
	}
	if len(body) > maxJWSBytes {
		e := malformed("the request body exceeds %d bytes", maxJWSBytes)
		e.Status = http.StatusRequestEntityTooLarge
		return nil, e
	}
	jws, h, err := parseJWS(body)
	if err != nil {
		return nil, err
	}
	if h.Nonce == "" {
		return nil, badNonce("the protected header has no nonce")
	}
	u, err := headerURL(h)
	if err != nil {
		return nil, err
	}
	if u != want {
		return nil, unauthorized("the protected header's url %q is not the URL requested (%s)", u, want)
	}
	req := &signed{url: u}
	var key any
	switch {
	case h.KeyID != "" && rule == useJWK:
		return nil, malformed("this resource must be signed with an embedded jwk, not a kid")
	case h.JSONWebKey != nil && rule == useKID:
		return nil, malformed("this resource must be signed by an account (kid), not an embedded jwk")
	case h.KeyID != "":
		if req.acct, err = s.accountByKID(ctx, d, h.KeyID); err != nil {
			return nil, err
		}
		key = req.acct.jwk
	default:
		if err := checkAccountKey(h.JSONWebKey.Key); err != nil {
			return nil, err
		}
		req.jwk, key = h.JSONWebKey, h.JSONWebKey
	}
	if req.payload, err = jws.Verify(key); err != nil {
		return nil, malformed("the JWS signature does not verify with the signer's key")
	}
	if err := s.nonces.consume(ctx, h.Nonce); err != nil {
		return nil, err
	}
	return req, nil
}

// accountByKID resolves a kid (an account URL of this directory) to a
// valid account with its parsed key.
func (s *Service) accountByKID(ctx context.Context, d *directory, kid string) (*account, error) {
	id, ok := strings.CutPrefix(kid, d.url("account")+"/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, newError(errAccountDoesNotExist, http.StatusBadRequest, "kid %q is not an account URL of this directory", kid)
	}
	a, err := s.loadAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.ProfileID != d.prof.Profile.ID {
		return nil, newError(errAccountDoesNotExist, http.StatusBadRequest, "account %s belongs to another directory", id)
	}
	if a.Status() != statusValid {
		return nil, unauthorized("account %s is %s", id, a.Status())
	}
	if err := a.parseKey(); err != nil {
		return nil, internal(err, "loading the account key")
	}
	return a, nil
}

func (a *account) parseKey() error {
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(a.Key); err != nil {
		return err
	}
	a.jwk = &k
	return nil
}

// checkAccountKey accepts the keys the signature algorithms can use, with
// the same size rules as certificate keys (RSA 2048-8192, P-256, P-384,
// Ed25519), before a signature is verified with it.
func checkAccountKey(k any) error {
	switch pub := k.(type) {
	case *rsa.PublicKey:
		if pub.N == nil || pub.N.BitLen() < 2048 || pub.N.BitLen() > 8192 {
			return newError(errBadPublicKey, http.StatusBadRequest, "RSA account keys must be 2048 to 8192 bits")
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() {
			return newError(errBadPublicKey, http.StatusBadRequest, "ECDSA account keys must use P-256 or P-384")
		}
	case ed25519.PublicKey:
	default:
		return newError(errBadPublicKey, http.StatusBadRequest, "account keys must be RSA, ECDSA or Ed25519 public keys")
	}
	if err := certutil.CheckPublicKey(k); err != nil {
		return newError(errBadPublicKey, http.StatusBadRequest, "the key is refused: %v", err)
	}
	return nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of k, base64url: the
// account's lookup key and the second half of key authorizations.
func thumbprint(k *jose.JSONWebKey) (string, error) {
	t, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(t), nil
}

// decodePayload reads a JSON payload into v, refusing anything malformed.
func decodePayload(payload []byte, v any) error {
	if len(payload) == 0 {
		return malformed("this request needs a JSON payload, not POST-as-GET")
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return malformed("the payload is not valid JSON for this request: %v", err)
	}
	return nil
}
