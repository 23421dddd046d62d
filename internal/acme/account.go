package acme

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/signet-pki/signet/internal/store"
)

type newAccountRequest struct {
	Contact                []string        `json:"contact"`
	TermsOfServiceAgreed   bool            `json:"termsOfServiceAgreed"`
	OnlyReturnExisting     bool            `json:"onlyReturnExisting"`
	ExternalAccountBinding json.RawMessage `json:"externalAccountBinding"`
}

type accountJSON struct {
	Status               string   `json:"status"`
	Contact              []string `json:"contact,omitempty"`
	TermsOfServiceAgreed bool     `json:"termsOfServiceAgreed,omitempty"`
	Orders               string   `json:"orders"`
}

func (s *Service) writeAccount(w http.ResponseWriter, d *directory, a *account, status int) error {
	w.Header().Set("Location", d.url("account", a.ID()))
	return writeJSON(w, status, accountJSON{Status: a.Status(), Contact: a.Contact, TermsOfServiceAgreed: a.TermsAgreed,
		Orders: d.url("account", a.ID(), "orders")})
}

// accountKeyID is an account's lookup key: accounts belong to one
// directory, so the same key may hold an account in several.
func accountKeyID(profileID, thumb string) string { return profileID + ":" + thumb }

func (s *Service) findAccount(ctx context.Context, keyID string) (*account, error) {
	o, err := s.store.FindProtocolObject(ctx, kindAccount, keyID)
	if err != nil {
		return nil, err
	}
	a := &account{obj: *o}
	return a, decode(o, a)
}

// newAccount creates an account for the request's key, or returns the one
// it already has (RFC 8555 section 7.3).
func (s *Service) newAccount(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	req, err := s.authenticate(ctx, r, d, d.url("new-account"), useJWK)
	if err != nil {
		return err
	}
	var in newAccountRequest
	if err := decodePayload(req.payload, &in); err != nil {
		return err
	}
	thumb, err := thumbprint(req.jwk)
	if err != nil {
		return malformed("the account key has no thumbprint: %v", err)
	}
	keyID := accountKeyID(d.prof.Profile.ID, thumb)
	existing, err := s.findAccount(ctx, keyID)
	switch {
	case err == nil && existing.Status() != statusValid:
		return unauthorized("the account of this key is %s", existing.Status())
	case err == nil:
		return s.writeAccount(w, d, existing, http.StatusOK)
	case !errors.Is(err, store.ErrNotFound):
		return internal(err, "looking up the account")
	case in.OnlyReturnExisting:
		return newError(errAccountDoesNotExist, http.StatusBadRequest, "no account exists for this key")
	}
	if err := checkContacts(in.Contact); err != nil {
		return err
	}
	st, err := s.loadSettings(ctx, d.prof.Profile.ID)
	if err != nil {
		return err
	}
	if st.EABRequired && len(in.ExternalAccountBinding) == 0 {
		return newError(errExternalAccountRequired, http.StatusForbidden, "this directory requires an external account binding")
	}
	var eab *eabKey
	if len(in.ExternalAccountBinding) > 0 {
		if eab, err = s.verifyEAB(ctx, d, in.ExternalAccountBinding, req.url, thumb); err != nil {
			return err
		}
	}
	keyJSON, err := req.jwk.MarshalJSON()
	if err != nil {
		return malformed("the account key cannot be encoded: %v", err)
	}
	now := s.now()
	a := &account{ProfileID: d.prof.Profile.ID, OrgID: d.prof.Profile.OrgID, Contact: in.Contact, Key: keyJSON,
		TermsAgreed: in.TermsOfServiceAgreed}
	a.obj = store.ProtocolObject{Kind: kindAccount, ID: store.NewID("acct"), KeyID: keyID, Status: statusValid, CreatedAt: now, UpdatedAt: now}
	if eab != nil {
		a.EABKeyID, a.TeamID = eab.obj.ID, eab.TeamID
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if eab != nil {
			if err := s.bindEAB(ctx, tx, eab.obj.ID, a.ID()); err != nil {
				return err
			}
		}
		if err := tx.InsertProtocolObject(ctx, encode(&a.obj, a)); err != nil {
			return err
		}
		tx.AppendAudit(s.principal(a, r).Event(now, a.OrgID, "acme.account.create", "acme_account", a.ID(),
			map[string]any{"profile": a.ProfileID, "eab_key": a.EABKeyID, "team": a.TeamID, "contact": a.Contact}))
		return nil
	})
	if errors.Is(err, store.ErrDuplicate) { // the same key registered concurrently: that account is the answer
		if existing, ferr := s.findAccount(ctx, keyID); ferr == nil {
			return s.writeAccount(w, d, existing, http.StatusOK)
		}
	}
	if err != nil {
		return toACME(fmt.Errorf("create account: %w", err), errMalformed)
	}
	return s.writeAccount(w, d, a, http.StatusCreated)
}

// maxContacts bounds an account's contact list.
const maxContacts = 10

// checkContacts accepts mailto: URLs with one plain address each.
func checkContacts(contacts []string) error {
	if len(contacts) > maxContacts {
		return newError(errInvalidContact, http.StatusBadRequest, "at most %d contacts are accepted", maxContacts)
	}
	for _, c := range contacts {
		addr, ok := strings.CutPrefix(c, "mailto:")
		if !ok {
			return newError(errUnsupportedContact, http.StatusBadRequest, "contact %q: only mailto: URLs are supported", c)
		}
		parsed, err := mail.ParseAddress(addr)
		if err != nil || parsed.Address != addr || parsed.Name != "" || strings.ContainsAny(addr, "?,") || len(addr) > 254 {
			return newError(errInvalidContact, http.StatusBadRequest, "contact %q is not a single plain email address", c)
		}
	}
	return nil
}

type accountUpdate struct {
	Contact *[]string `json:"contact"`
	Status  string    `json:"status"`
}

// updateAccount returns (POST-as-GET), changes the contacts of, or
// deactivates the signer's own account.
func (s *Service) updateAccount(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	id := r.PathValue("id")
	req, err := s.authenticate(ctx, r, d, d.url("account", id), useKID)
	if err != nil {
		return err
	}
	a := req.acct
	if a.ID() != id {
		return unauthorized("an account may only read or change itself")
	}
	if req.postAsGet() {
		return s.writeAccount(w, d, a, http.StatusOK)
	}
	var in accountUpdate
	if err := decodePayload(req.payload, &in); err != nil {
		return err
	}
	action := "acme.account.update"
	switch in.Status {
	case "":
	case statusDeactivated:
		a.obj.Status, action = statusDeactivated, "acme.account.deactivate"
	default:
		return malformed("an account's status can only be changed to deactivated")
	}
	if in.Contact != nil {
		if err := checkContacts(*in.Contact); err != nil {
			return err
		}
		a.Contact = *in.Contact
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := moveObject(ctx, tx, &a.obj, a, statusValid); err != nil {
			return err
		}
		tx.AppendAudit(s.principal(a, r).Event(s.now(), a.OrgID, action, "acme_account", a.ID(),
			map[string]any{"contact": a.Contact, "status": a.Status()}))
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return unauthorized("account %s changed status concurrently", a.ID())
	}
	if err != nil {
		return toACME(fmt.Errorf("update account: %w", err), errMalformed)
	}
	return s.writeAccount(w, d, a, http.StatusOK)
}

type keyChangeRequest struct {
	Account string          `json:"account"`
	OldKey  json.RawMessage `json:"oldKey"`
}

// keyChange rolls an account over to a new key (RFC 8555 section 7.3.5):
// the outer JWS is signed by the account, the inner one by the new key.
func (s *Service) keyChange(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	req, err := s.authenticate(ctx, r, d, d.url("key-change"), useKID)
	if err != nil {
		return err
	}
	a := req.acct
	newKey, inner, err := verifyInnerJWS(req.payload, req.url)
	if err != nil {
		return err
	}
	var in keyChangeRequest
	if err := decodePayload(inner, &in); err != nil {
		return err
	}
	if in.Account != d.url("account", a.ID()) {
		return unauthorized("the inner JWS names account %q, not the signer's", in.Account)
	}
	var old jose.JSONWebKey
	if err := old.UnmarshalJSON(in.OldKey); err != nil {
		return malformed("oldKey is not a JWK: %v", err)
	}
	oldThumb, err1 := thumbprint(&old)
	curThumb, err2 := thumbprint(a.jwk)
	if err1 != nil || err2 != nil || oldThumb != curThumb {
		return unauthorized("oldKey is not the account's current key")
	}
	newThumb, err := thumbprint(newKey)
	if err != nil {
		return malformed("the new key has no thumbprint: %v", err)
	}
	keyID := accountKeyID(d.prof.Profile.ID, newThumb)
	if other, err := s.findAccount(ctx, keyID); err == nil {
		e := malformed("the new key already belongs to an account")
		e.Status, e.location = http.StatusConflict, d.url("account", other.ID())
		return e
	}
	if a.Key, err = newKey.MarshalJSON(); err != nil {
		return malformed("the new key cannot be encoded: %v", err)
	}
	a.obj.KeyID = keyID
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := moveObject(ctx, tx, &a.obj, a, statusValid); err != nil {
			return err
		}
		tx.AppendAudit(s.principal(a, r).Event(s.now(), a.OrgID, "acme.account.key_change", "acme_account", a.ID(),
			map[string]any{"old_thumbprint": oldThumb, "new_thumbprint": newThumb}))
		return nil
	})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		e := malformed("the new key already belongs to an account")
		e.Status = http.StatusConflict
		return e
	case errors.Is(err, store.ErrConflict):
		return unauthorized("account %s changed status concurrently", a.ID())
	case err != nil:
		return toACME(fmt.Errorf("key change: %w", err), errMalformed)
	}
	return s.writeAccount(w, d, a, http.StatusOK)
}

// verifyInnerJWS checks the inner JWS of a key change: an embedded,
// acceptable key that signed it, and the outer request's url.
func verifyInnerJWS(body []byte, url string) (*jose.JSONWebKey, []byte, error) {
	jws, h, err := parseJWS(body)
	if err != nil {
		return nil, nil, err
	}
	if h.JSONWebKey == nil {
		return nil, nil, malformed("the inner JWS must carry the new key as jwk")
	}
	if u, err := headerURL(h); err != nil || u != url {
		return nil, nil, malformed("the inner JWS must have the outer JWS's url")
	}
	if err := checkAccountKey(h.JSONWebKey.Key); err != nil {
		return nil, nil, err
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return nil, nil, malformed("the inner JWS signature does not verify with the new key")
	}
	return h.JSONWebKey, payload, nil
}
