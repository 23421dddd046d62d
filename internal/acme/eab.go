package acme

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/signet-pki/signet/internal/store"
)

// eabAlgorithms are the MAC algorithms an external account binding may use.
var eabAlgorithms = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}

// eabKeyBytes is the HMAC key length: 64 bytes serves HS512 as well as
// HS256 (a MAC key must be at least as long as the hash).
const eabKeyBytes = 64

// EAB key statuses: an unused (or reusable) key is active; a single-use key
// that bound an account is used.
const (
	eabActive = "active"
	eabUsed   = "used"
)

// verifyEAB checks a newAccount's externalAccountBinding (RFC 8555 section
// 7.3.4): an HMAC JWS by a known, unused key of this directory's
// organization over the account key, for the same URL.
func (s *Service) verifyEAB(ctx context.Context, d *directory, raw json.RawMessage, url, accountThumb string) (*eabKey, error) {
	jws, h, err := parseEABJWS(raw)
	if err != nil {
		return nil, err
	}
	if h.KeyID == "" || h.JSONWebKey != nil {
		return nil, malformed("the external account binding must name its key with kid")
	}
	if h.Nonce != "" {
		return nil, malformed("the external account binding must not carry a nonce")
	}
	if u, err := headerURL(h); err != nil || u != url {
		return nil, malformed("the external account binding must have the newAccount url")
	}
	o, err := s.get(ctx, kindEAB, h.KeyID, unauthorized("unknown external account binding key %q", h.KeyID))
	if err != nil {
		return nil, err
	}
	k := &eabKey{obj: *o}
	if err := decode(o, k); err != nil {
		return nil, internal(err, "loading the EAB key")
	}
	if k.OrgID != d.prof.Profile.OrgID || (k.ProfileID != "" && k.ProfileID != d.prof.Profile.ID) {
		return nil, unauthorized("external account binding key %q is not valid for this directory", h.KeyID)
	}
	if o.Status != eabActive {
		return nil, unauthorized("external account binding key %q has already been used", h.KeyID)
	}
	secret, err := s.eabSecret(k)
	if err != nil {
		return nil, internal(err, "opening the EAB key")
	}
	payload, err := jws.Verify(secret)
	if err != nil {
		return nil, unauthorized("the external account binding MAC does not verify")
	}
	var bound jose.JSONWebKey
	if err := bound.UnmarshalJSON(payload); err != nil {
		return nil, malformed("the external account binding payload is not a JWK: %v", err)
	}
	if t, err := thumbprint(&bound); err != nil || t != accountThumb {
		return nil, unauthorized("the external account binding is for another key")
	}
	return k, nil
}

func parseEABJWS(raw json.RawMessage) (*jose.JSONWebSignature, *jose.Header, error) {
	var flat flatJWS
	if err := json.Unmarshal(raw, &flat); err != nil || flat.Protected == nil || flat.Payload == nil || flat.Signature == nil {
		return nil, nil, malformed("the external account binding is not a flattened JWS")
	}
	jws, err := jose.ParseSignedJSON(string(raw), eabAlgorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, nil, malformed("the external account binding cannot be parsed (HS256, HS384 or HS512 expected): %v", err)
	}
	h := jws.Signatures[0].Protected
	return jws, &h, nil
}

// bindEAB records, in the account's transaction, that key id bound account:
// a single-use key moves to used, so of two concurrent bindings one fails.
func (s *Service) bindEAB(ctx context.Context, tx store.Tx, id, accountID string) error {
	o, err := tx.GetProtocolObject(ctx, kindEAB, id)
	if err != nil {
		return unauthorized("external account binding key %q no longer exists", id)
	}
	k := &eabKey{}
	if err := decode(o, k); err != nil {
		return err
	}
	k.Accounts, k.LastUsed = append(k.Accounts, accountID), s.now()
	if len(k.Sealed) == 0 && len(k.HMAC) > 0 { // stored in clear by an older Signet
		k.obj = *o
		if err := s.sealEAB(k, k.HMAC); err != nil {
			return err
		}
	}
	if !k.Reusable {
		o.Status = eabUsed
	}
	if err := moveObject(ctx, tx, o, k, eabActive); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return unauthorized("external account binding key %q has already been used", id)
		}
		return fmt.Errorf("bind EAB key: %w", err)
	}
	return nil
}

// sealEAB stores secret in k sealed, bound to k's id, and drops any clear copy.
func (s *Service) sealEAB(k *eabKey, secret []byte) error {
	if s.secrets == nil {
		return errors.New("acme: no sealer to protect EAB keys")
	}
	sealed, err := s.secrets.SealSecret(secret, eabSealID(k.obj.ID))
	if err != nil {
		return fmt.Errorf("seal EAB key: %w", err)
	}
	k.Sealed, k.HMAC = sealed, nil
	return nil
}

// eabSecret is k's HMAC key in clear.
func (s *Service) eabSecret(k *eabKey) ([]byte, error) {
	if len(k.Sealed) == 0 {
		return k.HMAC, nil
	}
	if s.secrets == nil {
		return nil, errors.New("acme: no sealer to open EAB keys")
	}
	return s.secrets.OpenSecret(k.Sealed, eabSealID(k.obj.ID))
}

// eabSealID binds a sealed EAB key to its record.
func eabSealID(id string) string { return "acme-eab:" + id }

func newHMACKey() []byte {
	b := make([]byte, eabKeyBytes)
	_, _ = rand.Read(b)
	return b
}

// profileAllowsACME reports whether a profile lists the acme method.
func profileAllowsACME(methods []string) bool { return slices.Contains(methods, "acme") }
