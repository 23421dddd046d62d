package acme

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// Challenge types.
const (
	challengeHTTP01    = "http-01"
	challengeDNS01     = "dns-01"
	challengeTLSALPN01 = "tls-alpn-01"
)

type authzJSON struct {
	Identifier identifier      `json:"identifier"`
	Status     string          `json:"status"`
	Expires    string          `json:"expires"`
	Challenges []challengeJSON `json:"challenges"`
	Wildcard   bool            `json:"wildcard,omitempty"`
}

type challengeJSON struct {
	Type      string     `json:"type"`
	URL       string     `json:"url"`
	Status    string     `json:"status"`
	Token     string     `json:"token"`
	Validated string     `json:"validated,omitempty"`
	Error     *acmeError `json:"error,omitempty"`
}

// authzStatus is the status clients see: a validating authorization is
// still pending, and a pending or valid one past its expiry is expired.
func (s *Service) authzStatus(az *authz) string {
	st := az.obj.Status
	if st == statusValidating {
		st = statusPending
	}
	if (st == statusPending || st == statusValid) && !s.now().Before(az.Expires) {
		return statusExpired
	}
	return st
}

// staleValidation is when a validation claimed by a node that has not
// finished it (it died) may be taken over.
func (s *Service) staleValidation() time.Duration { return 3 * s.cfg.ValidationTimeout }

func (s *Service) challengeView(d *directory, az *authz, c *challenge) challengeJSON {
	v := challengeJSON{Type: c.Type, URL: d.url("chall", az.obj.ID, c.Type), Status: c.Status, Token: c.Token, Error: c.Error}
	if c.Validated != nil {
		v.Validated = c.Validated.Format(time.RFC3339)
	}
	return v
}

func (s *Service) writeAuthz(w http.ResponseWriter, d *directory, az *authz) error {
	out := authzJSON{Identifier: az.Identifier, Status: s.authzStatus(az), Expires: az.Expires.Format(time.RFC3339),
		Wildcard: az.Wildcard}
	for i := range az.Challenges {
		out.Challenges = append(out.Challenges, s.challengeView(d, az, &az.Challenges[i]))
	}
	if az.obj.Status == statusValidating {
		setRetryAfter(w, time.Second)
	}
	return writeJSON(w, http.StatusOK, out)
}

// failedChallenge returns the challenge whose failure invalidated az.
func (az *authz) failedChallenge() *challenge {
	for i := range az.Challenges {
		if az.Challenges[i].Status == statusInvalid {
			return &az.Challenges[i]
		}
	}
	return nil
}

func (s *Service) authzOf(ctx context.Context, a *account, id string) (*authz, error) {
	az, err := s.loadAuthz(ctx, id)
	if err != nil {
		return nil, err
	}
	if az.obj.AccountID != a.ID() {
		return nil, unauthorized("authorization %s belongs to another account", id)
	}
	return az, nil
}

// postAuthz returns an authorization (POST-as-GET) or deactivates it.
func (s *Service) postAuthz(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	id := r.PathValue("id")
	req, err := s.authenticate(ctx, r, d, d.url("authz", id), useKID)
	if err != nil {
		return err
	}
	az, err := s.authzOf(ctx, req.acct, id)
	if err != nil {
		return err
	}
	if req.postAsGet() {
		return s.writeAuthz(w, d, az)
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := decodePayload(req.payload, &in); err != nil {
		return err
	}
	if in.Status != statusDeactivated {
		return malformed("an authorization's status can only be changed to deactivated")
	}
	from := az.obj.Status
	if st := s.authzStatus(az); st != statusPending && st != statusValid {
		return malformed("authorization %s is %s and cannot be deactivated", id, st)
	}
	az.obj.Status = statusDeactivated
	err = s.store.Update(ctx, func(tx store.Tx) error { return moveObject(ctx, tx, &az.obj, az, from) })
	if errors.Is(err, store.ErrConflict) {
		return malformed("authorization %s changed concurrently; fetch it again", id)
	}
	if err != nil {
		return toACME(fmt.Errorf("deactivate authorization: %w", err), errMalformed)
	}
	return s.writeAuthz(w, d, az)
}

// postChallenge returns a challenge (POST-as-GET) or, given a payload
// (normally {}), validates it. Validation runs in the request, bounded by
// the validation timeout, after the authorization moved to the internal
// "validating" status: of several requests or nodes, one validates.
func (s *Service) postChallenge(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	id, typ := r.PathValue("id"), r.PathValue("type")
	req, err := s.authenticate(ctx, r, d, d.url("chall", id, typ), useKID)
	if err != nil {
		return err
	}
	az, err := s.authzOf(ctx, req.acct, id)
	if err != nil {
		return err
	}
	c := az.challenge(typ)
	if c == nil {
		return newError(errMalformed, http.StatusNotFound, "authorization %s has no %s challenge", id, typ)
	}
	if !req.postAsGet() {
		var payload map[string]json.RawMessage
		if err := json.Unmarshal(req.payload, &payload); err != nil {
			return malformed("a challenge response is a JSON object ({})")
		}
		if az, err = s.respond(ctx, req.acct, az, typ); err != nil {
			return err
		}
		c = az.challenge(typ)
	}
	w.Header().Add("Link", link(d.url("authz", az.obj.ID), "up"))
	v := s.challengeView(d, az, c)
	if v.Status == statusProcessing {
		setRetryAfter(w, time.Second)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (az *authz) challenge(typ string) *challenge {
	for i := range az.Challenges {
		if az.Challenges[i].Type == typ {
			return &az.Challenges[i]
		}
	}
	return nil
}

// respond validates challenge typ of az if az awaits it, and returns az as
// it is afterwards. A challenge of an authorization that is already
// decided, or being validated elsewhere, is returned as it is.
func (s *Service) respond(ctx context.Context, a *account, az *authz, typ string) (*authz, error) {
	switch st := s.authzStatus(az); {
	case st == statusExpired:
		return nil, malformed("authorization %s has expired", az.obj.ID)
	case az.obj.Status == statusPending:
	case az.obj.Status == statusValidating && az.ValidatingFrom != nil && s.now().Sub(*az.ValidatingFrom) > s.staleValidation():
	default:
		return az, nil
	}
	from, now := az.obj.Status, s.now()
	az.obj.Status, az.ValidatingFrom = statusValidating, &now
	for i := range az.Challenges { // a stale claim's challenge is no longer being checked
		if az.Challenges[i].Status == statusProcessing {
			az.Challenges[i].Status = statusPending
		}
	}
	az.challenge(typ).Status = statusProcessing
	err := s.store.Update(ctx, func(tx store.Tx) error { return moveObject(ctx, tx, &az.obj, az, from) })
	if errors.Is(err, store.ErrConflict) {
		return s.loadAuthz(ctx, az.obj.ID)
	}
	if err != nil {
		return nil, toACME(fmt.Errorf("claim authorization: %w", err), errMalformed)
	}
	keyAuth, err := keyAuthorization(a, az.challenge(typ).Token)
	if err != nil {
		return nil, internal(err, "computing the key authorization")
	}
	// The client may hang up; the validation and its record still finish.
	bg := context.WithoutCancel(ctx)
	vctx, cancel := context.WithTimeout(bg, s.cfg.ValidationTimeout)
	defer cancel()
	failure := s.validator.validate(vctx, typ, az.Identifier, az.challenge(typ).Token, keyAuth)
	s.recordValidation(az, typ, failure)
	err = s.store.Update(bg, func(tx store.Tx) error { return moveObject(bg, tx, &az.obj, az, statusValidating) })
	if errors.Is(err, store.ErrConflict) {
		return s.loadAuthz(bg, az.obj.ID)
	}
	if err != nil {
		return nil, toACME(fmt.Errorf("record validation: %w", err), errMalformed)
	}
	if failure != nil {
		s.log.InfoContext(ctx, "ACME challenge failed", "authz", az.obj.ID, "type", typ, "identifier", az.Identifier.Value, "err", failure.Detail)
	}
	return az, nil
}

// recordValidation sets the outcome on az: valid with the time, or invalid
// with the problem (RFC 8555: one failed challenge invalidates the authorization).
func (s *Service) recordValidation(az *authz, typ string, p *acmeError) {
	c := az.challenge(typ)
	az.ValidatingFrom = nil
	if p != nil {
		p.Status = 0 // a challenge's error document carries no HTTP status
		c.Status, c.Error, az.obj.Status = statusInvalid, p, statusInvalid
		return
	}
	now := s.now()
	c.Status, c.Validated, c.Error, az.obj.Status = statusValid, &now, nil, statusValid
}

// keyAuthorization is token || "." || the account key's thumbprint.
func keyAuthorization(a *account, token string) (string, error) {
	if a.jwk == nil {
		if err := a.parseKey(); err != nil {
			return "", err
		}
	}
	t, err := thumbprint(a.jwk)
	if err != nil {
		return "", err
	}
	return token + "." + t, nil
}
