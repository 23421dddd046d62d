package acme

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

type newOrderRequest struct {
	Identifiers []identifier `json:"identifiers"`
	NotBefore   string       `json:"notBefore"`
	NotAfter    string       `json:"notAfter"`
	Replaces    string       `json:"replaces"` // RFC 9773
}

type orderJSON struct {
	Status         string       `json:"status"`
	Expires        string       `json:"expires"`
	Identifiers    []identifier `json:"identifiers"`
	Authorizations []string     `json:"authorizations"`
	Finalize       string       `json:"finalize"`
	Certificate    string       `json:"certificate,omitempty"`
	Replaces       string       `json:"replaces,omitempty"`
	Error          *acmeError   `json:"error,omitempty"`
}

func (s *Service) writeOrder(w http.ResponseWriter, d *directory, o *order, status int) error {
	out := orderJSON{Status: o.obj.Status, Identifiers: o.Identifiers, Finalize: d.url("order", o.obj.ID, "finalize"),
		Replaces: o.Replaces, Error: o.Error, Authorizations: make([]string, len(o.Authorizations))}
	for i, id := range o.Authorizations {
		out.Authorizations[i] = d.url("authz", id)
	}
	out.Expires = o.Expires.Format(time.RFC3339) // required for pending and valid orders (RFC 8555 7.1.3)
	if o.CertSerial != "" {
		out.Certificate = d.url("cert", o.CertSerial)
	}
	if o.obj.Status == statusProcessing {
		setRetryAfter(w, s.cfg.RetryAfter)
	}
	w.Header().Set("Location", d.url("order", o.obj.ID))
	return writeJSON(w, status, out)
}

// newOrder creates an order and one authorization per identifier, after
// checking the identifiers against the profile's template.
func (s *Service) newOrder(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	req, err := s.authenticate(ctx, r, d, d.url("new-order"), useKID)
	if err != nil {
		return err
	}
	var in newOrderRequest
	if err := decodePayload(req.payload, &in); err != nil {
		return err
	}
	if in.NotBefore != "" || in.NotAfter != "" {
		return malformed("notBefore and notAfter are not supported: the profile sets the validity")
	}
	ids, err := normalizeIdentifiers(in.Identifiers)
	if err != nil {
		return err
	}
	if err := checkTemplate(d.prof, ids); err != nil {
		return err
	}
	a := req.acct
	now := s.now()
	ord := &order{ProfileID: d.prof.Profile.ID, Identifiers: ids, Expires: now.Add(s.cfg.OrderLifetime).Truncate(time.Second)}
	ord.obj = store.ProtocolObject{Kind: kindOrder, ID: store.NewID("ord"), AccountID: a.ID(), Status: statusPending,
		ExpiresAt: &ord.Expires, CreatedAt: now, UpdatedAt: now}
	var replaced *store.Certificate
	if in.Replaces != "" {
		if replaced, err = s.replacedCertificate(s.as(ctx, a, r), in.Replaces); err != nil {
			return err
		}
		ord.Replaces = in.Replaces
	}
	authzs := make([]*authz, len(ids))
	for i, id := range ids {
		authzs[i] = s.newAuthz(a, ord, id, now)
		ord.Authorizations = append(ord.Authorizations, authzs[i].obj.ID)
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if replaced != nil {
			if err := s.markReplaced(ctx, tx, in.Replaces, replaced, ord.obj.ID); err != nil {
				return err
			}
		}
		for _, az := range authzs {
			if err := tx.InsertProtocolObject(ctx, encode(&az.obj, az)); err != nil {
				return fmt.Errorf("insert authorization: %w", err)
			}
		}
		return tx.InsertProtocolObject(ctx, encode(&ord.obj, ord))
	})
	if err != nil {
		return toACME(err, errMalformed)
	}
	return s.writeOrder(w, d, ord, http.StatusCreated)
}

// newAuthz builds the authorization of one identifier with the challenges
// it can be proven by: wildcards only by dns-01, IP addresses not by it.
func (s *Service) newAuthz(a *account, ord *order, id identifier, now time.Time) *authz {
	az := &authz{ProfileID: ord.ProfileID, OrderID: ord.obj.ID, Identifier: id, Expires: ord.Expires}
	types := []string{challengeHTTP01, challengeDNS01, challengeTLSALPN01}
	switch {
	case id.Type == "ip":
		types = []string{challengeHTTP01, challengeTLSALPN01}
	case strings.HasPrefix(id.Value, "*."):
		az.Identifier.Value, az.Wildcard, types = strings.TrimPrefix(id.Value, "*."), true, []string{challengeDNS01}
	}
	for _, t := range types {
		az.Challenges = append(az.Challenges, challenge{Type: t, Token: randomToken(32), Status: statusPending})
	}
	az.obj = store.ProtocolObject{Kind: kindAuthz, ID: store.NewID("authz"), AccountID: a.ID(), Status: statusPending,
		ExpiresAt: &az.Expires, CreatedAt: now, UpdatedAt: now}
	return az
}

// orderOf loads an order of the signer's account.
func (s *Service) orderOf(ctx context.Context, a *account, id string) (*order, error) {
	o, err := s.loadOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	if o.obj.AccountID != a.ID() {
		return nil, unauthorized("order %s belongs to another account", id)
	}
	return o, nil
}

func (s *Service) getOrder(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	id := r.PathValue("id")
	req, err := s.authenticate(ctx, r, d, d.url("order", id), useKID)
	if err != nil {
		return err
	}
	if !req.postAsGet() {
		return malformed("an order is read with POST-as-GET")
	}
	o, err := s.orderOf(ctx, req.acct, id)
	if err != nil {
		return err
	}
	if o, err = s.refreshOrder(s.as(ctx, req.acct, r), req.acct, o); err != nil {
		return err
	}
	return s.writeOrder(w, d, o, http.StatusOK)
}

// listOrders pages the account's orders (RFC 8555 section 7.1.2.1).
func (s *Service) listOrders(w http.ResponseWriter, r *http.Request, d *directory) error {
	ctx := r.Context()
	id := r.PathValue("id")
	want := d.url("account", id, "orders")
	cursor := r.URL.Query().Get("cursor")
	if cursor != "" {
		want += "?cursor=" + url.QueryEscape(cursor)
	}
	req, err := s.authenticate(ctx, r, d, want, useKID)
	if err != nil {
		return err
	}
	if req.acct.ID() != id {
		return unauthorized("an account may only list its own orders")
	}
	objs, next, err := s.store.ListProtocolObjects(ctx, kindOrder, id, 100, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return malformed("the cursor is malformed")
	}
	if err != nil {
		return toACME(err, errMalformed)
	}
	urls := make([]string, len(objs))
	for i, o := range objs {
		urls[i] = d.url("order", o.ID)
	}
	if next != "" {
		w.Header().Add("Link", link(d.url("account", id, "orders")+"?cursor="+url.QueryEscape(next), "next"))
	}
	return writeJSON(w, http.StatusOK, map[string][]string{"orders": urls})
}

// refreshOrder brings an order's status up to date with what it depends
// on: its authorizations while pending, the issuance request while
// processing, its expiry. Changes are stored with conditional moves; when
// another node moved the order first, its version is returned.
func (s *Service) refreshOrder(ctx context.Context, a *account, o *order) (*order, error) {
	from, requestID := o.obj.Status, o.RequestID
	switch from {
	case statusPending, statusReady:
		if !s.now().Before(o.Expires) {
			o.obj.Status, o.Error = statusInvalid, malformed("the order expired before it was finalized")
			break
		}
		if from == statusPending {
			if err := s.checkAuthorizations(ctx, o); err != nil {
				return nil, err
			}
		}
	case statusProcessing:
		if err := s.checkIssuance(ctx, a, o); err != nil {
			return nil, err
		}
	}
	if o.obj.Status == from && o.RequestID == requestID {
		return o, nil
	}
	err := s.store.Update(ctx, func(tx store.Tx) error { return moveObject(ctx, tx, &o.obj, o, from) })
	if errors.Is(err, store.ErrConflict) {
		return s.loadOrder(ctx, o.obj.ID)
	}
	if err != nil {
		return nil, toACME(fmt.Errorf("update order: %w", err), errMalformed)
	}
	return o, nil
}

// checkAuthorizations moves a pending order to ready when every
// authorization is valid, or to invalid when one can no longer become so.
func (s *Service) checkAuthorizations(ctx context.Context, o *order) error {
	valid := 0
	for _, id := range o.Authorizations {
		az, err := s.loadAuthz(ctx, id)
		if err != nil {
			return err
		}
		switch st := s.authzStatus(az); st {
		case statusValid:
			valid++
		case statusPending:
		default:
			o.obj.Status = statusInvalid
			o.Error = unauthorized("the authorization of %s is %s", az.Identifier.Value, st)
			if c := az.failedChallenge(); c != nil && c.Error != nil {
				o.Error = c.Error
			}
			return nil
		}
	}
	if valid == len(o.Authorizations) {
		o.obj.Status = statusReady
	}
	return nil
}

// staleFinalize is how long a finalization may go without an issuance
// answer before another request takes it over (a node died mid-way).
const staleFinalize = time.Minute

// checkIssuance follows a processing order: a manual approval decided by
// a manager, or a finalization a failed node left unanswered.
func (s *Service) checkIssuance(ctx context.Context, a *account, o *order) error {
	if o.RequestID == "" {
		if s.now().Sub(o.obj.UpdatedAt) < staleFinalize {
			return nil
		}
		if err := s.enroll(ctx, a, o); err != nil {
			ae := toACME(err, errBadCSR)
			if ae.Status >= http.StatusInternalServerError {
				return ae
			}
			o.obj.Status, o.CSR, o.Error = statusInvalid, "", ae
		}
		return nil
	}
	req, err := s.issuance.GetRequest(ctx, o.RequestID)
	if err != nil {
		return toACME(err, errMalformed)
	}
	switch req.Status {
	case store.RequestIssued:
		o.obj.Status, o.CertSerial, o.CSR = statusValid, req.CertSerial, ""
	case store.RequestRejected:
		o.obj.Status, o.CSR = statusInvalid, ""
		o.Error = unauthorized("the certificate request was rejected: %s", req.Reason)
	case store.RequestFailed:
		o.obj.Status, o.CSR = statusInvalid, ""
		o.Error = newError(errServerInternal, http.StatusInternalServerError, "issuance failed: %s", req.Reason)
	}
	return nil
}
