package acme

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/signet-pki/signet/internal/store"
)

// Kinds of store.ProtocolObject this package keeps. The store's Status column
// holds each object's status, so that moves between statuses are atomic
// (UpdateProtocolObject's fromStatus); Data holds the JSON below.
const (
	kindAccount  = "account"          // KeyID: profile id + ":" + JWK thumbprint
	kindOrder    = "order"            // AccountID: the account
	kindAuthz    = "authz"            // AccountID: the account
	kindNonce    = "nonce"            // a used nonce, until it expires
	kindNonceKey = "nonce_key"        // the MAC key of nonces, shared by every node
	kindEAB      = "eab"              // AccountID: the organization (so keys list by organization)
	kindSettings = "profile_settings" // ID: the profile id
)

// Statuses (RFC 8555 section 7.1.6). "validating" is internal: an
// authorization whose challenge a node is checking right now (shown as
// pending, its challenge as processing); moving into it is the lock.
const (
	statusPending     = "pending"
	statusReady       = "ready"
	statusProcessing  = "processing"
	statusValid       = "valid"
	statusInvalid     = "invalid"
	statusDeactivated = "deactivated"
	statusExpired     = "expired"
	statusRevoked     = "revoked"
	statusValidating  = "validating"
)

type identifier struct {
	Type  string `json:"type"` // dns | ip
	Value string `json:"value"`
}

// account is an ACME account: a key bound to one profile's directory.
type account struct {
	ProfileID   string          `json:"profile_id"`
	OrgID       string          `json:"org_id"`
	Contact     []string        `json:"contact,omitempty"`
	Key         json.RawMessage `json:"key"` // public JWK
	TermsAgreed bool            `json:"terms_agreed,omitempty"`
	EABKeyID    string          `json:"eab_key_id,omitempty"`
	TeamID      string          `json:"team_id,omitempty"` // owner of its certificates, from the EAB key

	obj store.ProtocolObject
	jwk *jose.JSONWebKey
}

func (a *account) ID() string     { return a.obj.ID }
func (a *account) Status() string { return a.obj.Status }

// order is an ACME order.
type order struct {
	ProfileID      string       `json:"profile_id"`
	Identifiers    []identifier `json:"identifiers"`
	Authorizations []string     `json:"authorizations"` // authz ids
	Expires        time.Time    `json:"expires"`
	CSR            string       `json:"csr,omitempty"` // PEM, kept from finalize until issuance answers
	RequestID      string       `json:"request_id,omitempty"`
	CertSerial     string       `json:"cert_serial,omitempty"`
	Replaces       string       `json:"replaces,omitempty"` // RFC 9773 certificate id
	Error          *acmeError   `json:"error,omitempty"`

	obj store.ProtocolObject
}

// challenge is one way to prove control of an authorization's identifier;
// challenges live inside their authorization so both change atomically.
type challenge struct {
	Type      string     `json:"type"`
	Token     string     `json:"token"`
	Status    string     `json:"status"`
	Validated *time.Time `json:"validated,omitempty"`
	Error     *acmeError `json:"error,omitempty"`
}

// authz is an ACME authorization.
type authz struct {
	ProfileID      string      `json:"profile_id"`
	OrderID        string      `json:"order_id"`
	Identifier     identifier  `json:"identifier"` // without the "*." of a wildcard
	Wildcard       bool        `json:"wildcard,omitempty"`
	Expires        time.Time   `json:"expires"`
	Challenges     []challenge `json:"challenges"`
	ValidatingFrom *time.Time  `json:"validating_from,omitempty"`

	obj store.ProtocolObject
}

// eabKey is an external account binding key: an HMAC key bound to an
// organization (and optionally a team and a profile).
type eabKey struct {
	OrgID     string `json:"org_id"`
	TeamID    string `json:"team_id,omitempty"`
	ProfileID string `json:"profile_id,omitempty"` // "" = any ACME profile of the organization
	Name      string `json:"name,omitempty"`
	// Sealed is the HMAC key sealed with Deps.Secrets. HMAC holds it in
	// clear only in records written before keys were sealed; binding an
	// account seals such a key (eabSecret, bindEAB).
	Sealed    []byte    `json:"sealed,omitempty"`
	HMAC      []byte    `json:"hmac,omitempty"`
	Reusable  bool      `json:"reusable,omitempty"`
	CreatedBy string    `json:"created_by"`
	Accounts  []string  `json:"accounts,omitempty"` // bound through it
	LastUsed  time.Time `json:"last_used,omitzero"`

	obj store.ProtocolObject
}

// settings are a profile's ACME options.
type settings struct {
	EABRequired bool `json:"eab_required"`
}

// decode reads an object's JSON into v (a pointer to one of the records).
func decode(o *store.ProtocolObject, v any) error {
	if err := json.Unmarshal(o.Data, v); err != nil {
		return fmt.Errorf("ACME %s %s is corrupt: %w", o.Kind, o.ID, err)
	}
	return nil
}

// encode stores v's JSON in o.
func encode(o *store.ProtocolObject, v any) *store.ProtocolObject {
	o.Data, _ = json.Marshal(v) // records hold only marshalable fields
	return o
}

// get loads one object, mapping "absent" onto notFound.
func (s *Service) get(ctx context.Context, kind, id string, notFound *acmeError) (*store.ProtocolObject, error) {
	o, err := s.store.GetProtocolObject(ctx, kind, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, toACME(fmt.Errorf("load ACME %s: %w", kind, err), errMalformed)
	}
	return o, nil
}

func (s *Service) loadAccount(ctx context.Context, id string) (*account, error) {
	o, err := s.get(ctx, kindAccount, id, newError(errAccountDoesNotExist, http.StatusBadRequest, "no account %q", id))
	if err != nil {
		return nil, err
	}
	a := &account{obj: *o}
	if err := decode(o, a); err != nil {
		return nil, internal(err, "loading the account")
	}
	return a, nil
}

func (s *Service) loadOrder(ctx context.Context, id string) (*order, error) {
	o, err := s.get(ctx, kindOrder, id, newError(errMalformed, http.StatusNotFound, "no order %q", id))
	if err != nil {
		return nil, err
	}
	ord := &order{obj: *o}
	if err := decode(o, ord); err != nil {
		return nil, internal(err, "loading the order")
	}
	return ord, nil
}

func (s *Service) loadAuthz(ctx context.Context, id string) (*authz, error) {
	o, err := s.get(ctx, kindAuthz, id, newError(errMalformed, http.StatusNotFound, "no authorization %q", id))
	if err != nil {
		return nil, err
	}
	az := &authz{obj: *o}
	if err := decode(o, az); err != nil {
		return nil, internal(err, "loading the authorization")
	}
	return az, nil
}

// loadSettings returns a profile's ACME settings (the defaults when none were set).
func (s *Service) loadSettings(ctx context.Context, profileID string) (*settings, error) {
	o, err := s.store.GetProtocolObject(ctx, kindSettings, profileID)
	if errors.Is(err, store.ErrNotFound) {
		return &settings{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load ACME settings: %w", err)
	}
	var st settings
	return &st, decode(o, &st)
}

// randomToken returns 32 random bytes, base64url: challenge tokens and EAB keys.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}

// moveObject rewrites o with v's JSON if its stored status is still from;
// store.ErrConflict tells the caller someone else moved it first.
func moveObject(ctx context.Context, tx store.Tx, o *store.ProtocolObject, v any, from string) error {
	return tx.UpdateProtocolObject(ctx, encode(o, v), from)
}
