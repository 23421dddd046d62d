package upstream

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// callTimeout bounds one upstream call: a slow CA must not hold an
// enrollment (or the polling job) for long; the order is retried.
const callTimeout = 45 * time.Second

// ErrConnectorDisabled is returned for calls to a disabled connector; the
// order waits (it is transient: an admin may enable it again).
var ErrConnectorDisabled = errors.New("connector is disabled")

// Issue sends an order to a connector. It returns the chain, a reference to
// poll, or an error (RejectedError when retrying cannot help).
func (s *Service) Issue(ctx context.Context, connectorID string, o Order) (Result, error) {
	var res Result
	err := s.call(ctx, connectorID, "issue", map[string]any{"request": o.RequestID}, func(ctx context.Context, iss Issuer) error {
		var err error
		res, err = iss.Issue(ctx, o)
		return err
	}, func(st *Stats) { countResult(st, res) })
	return res, err
}

// Poll asks a connector about an asynchronous order.
func (s *Service) Poll(ctx context.Context, connectorID, ref, requestID string) (Result, error) {
	var res Result
	err := s.call(ctx, connectorID, "poll", map[string]any{"request": requestID, "ref": ref}, func(ctx context.Context, iss Issuer) error {
		var err error
		res, err = iss.Poll(ctx, ref)
		return err
	}, func(st *Stats) { countResult(st, res) })
	return res, err
}

// Revoke revokes a certificate at the connector that issued it.
func (s *Service) Revoke(ctx context.Context, connectorID string, leaf *x509.Certificate, reason int) error {
	details := map[string]any{"serial": fmt.Sprintf("%x", leaf.SerialNumber), "reason": reason}
	return s.call(ctx, connectorID, "revoke", details, func(ctx context.Context, iss Issuer) error {
		return iss.Revoke(ctx, leaf, reason)
	}, func(st *Stats) { st.Revoked++ })
}

func countResult(st *Stats, res Result) {
	if len(res.Chain) > 0 {
		st.Issued++
	} else {
		st.Pending++
	}
}

// call runs one upstream operation, then records its outcome on the
// connector (health, counts) with an audit event, in one write. Neither
// the event nor the stored error carries secrets: errors come from our
// clients, which never put credentials in them.
func (s *Service) call(ctx context.Context, connectorID, op string, details map[string]any,
	fn func(context.Context, Issuer) error, count func(*Stats)) error {
	rec, err := load(ctx, s.d.Store, connectorID)
	if err != nil {
		return err
	}
	if rec.Status != StatusActive {
		return fmt.Errorf("connector %s: %w", rec.Name, ErrConnectorDisabled)
	}
	secrets, err := s.openSecrets(rec)
	if err != nil {
		return err
	}
	iss, err := s.build(rec, secrets)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	started := s.d.Now()
	callErr := fn(cctx, iss)
	cancel()
	s.d.Log.Info("upstream call", "connector", rec.Name, "op", op, "duration", s.d.Now().Sub(started), "error", errString(callErr))
	s.recordCall(ctx, rec.ID, op, details, callErr, count)
	if callErr != nil {
		return fmt.Errorf("connector %s %s: %w", rec.Name, op, callErr)
	}
	return nil
}

// recordCall updates the connector's stats and audits the call. A failure
// to record is logged, not returned: the upstream call happened either way,
// and the caller must act on its result.
func (s *Service) recordCall(ctx context.Context, id, op string, details map[string]any, callErr error, count func(*Stats)) {
	now := s.d.Now().UTC()
	outcome := "success"
	if callErr != nil {
		outcome = "failure"
		details["error"] = errString(callErr)
	}
	err := s.d.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := load(ctx, tx, id)
		if err != nil {
			return err
		}
		st := &rec.Stats
		if callErr != nil {
			st.Failed++
			st.LastError, st.LastErrorAt = errString(callErr), &now
		} else {
			count(st)
			st.LastSuccess = &now
		}
		o, err := rec.object()
		if err != nil {
			return err
		}
		if err := tx.UpdateProtocolObject(ctx, o, rec.Status); err != nil {
			return fmt.Errorf("update connector stats: %w", err)
		}
		ev := auth.System().Event(now, rec.OrgID, "connector."+op, "connector", rec.ID, details)
		ev.Outcome = outcome
		tx.AppendAudit(ev)
		return nil
	})
	if err != nil {
		s.d.Log.Warn("record upstream call", "connector", id, "op", op, "error", err)
	}
}

// errString bounds an upstream's error text kept in stats, requests and the audit log.
func errString(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	return msg
}

// Available reports whether a connector can take orders now, for
// validation before a request is stored.
func (s *Service) Available(ctx context.Context, connectorID string) error {
	rec, err := load(ctx, s.d.Store, connectorID)
	if err != nil {
		return err
	}
	if rec.Status != StatusActive {
		return problem.Conflict("connector_disabled", "connector %s is disabled", rec.Name)
	}
	return nil
}
