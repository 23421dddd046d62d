package revocation

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Store is what the revocation service reads and writes.
type Store interface {
	GetCertificate(ctx context.Context, serial string) (*store.Certificate, error)
	ForEachRevoked(ctx context.Context, q store.RevokedQuery, fn func(*store.Certificate) error) error
	LatestCRL(ctx context.Context, caID string, delta bool) (*store.CRL, error)
	MaxCRLNumber(ctx context.Context, caID string) (int64, error)
	SearchAuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Issuers are the CAs this node knows (ca.Service).
type Issuers interface {
	All() []*ca.Issuer
	Resolve(ctx context.Context, ref string) (*store.CA, error)
}

// Config tunes publication. Zero values take the defaults.
type Config struct {
	CRLValidity  time.Duration // nextUpdate − thisUpdate of every CRL (default 24 h)
	CRLInterval  time.Duration // CRLs are regenerated at least this often (default 1 h)
	ExpiredGrace time.Duration // revoked certificates leave the CRL this long after they expire (default 7 days)
	Poll         time.Duration // how often the leader looks for status changes made on other nodes (default 2 s)
	OCSP         ResponderConfig
	Now          func() time.Time
	Logger       *slog.Logger
}

func (c *Config) setDefaults() {
	if c.CRLValidity <= 0 {
		c.CRLValidity = 24 * time.Hour
	}
	if c.CRLInterval <= 0 {
		c.CRLInterval = time.Hour
	}
	if c.ExpiredGrace <= 0 {
		c.ExpiredGrace = 7 * 24 * time.Hour
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.OCSP.Now, c.OCSP.Logger = c.Now, c.Logger
}

// reasonCertificateHold is the CRLReason of a suspended certificate.
const reasonCertificateHold = 6

// Service publishes CRLs and answers OCSP for every Signet CA.
type Service struct {
	store     Store
	issuers   Issuers
	cfg       Config
	responder *Responder
	log       *slog.Logger

	mu         sync.Mutex
	dirty      map[string]bool   // CA ids whose CRLs are out of date
	changes    map[string]uint64 // status changes seen on this node, per CA
	published  map[string]uint64 // changes covered by the newest publication started after them
	wake       chan struct{}
	lastChange time.Time // newest status change the leader has published
}

// New builds the service; call Run to publish CRLs in the background.
func New(st Store, issuers Issuers, cfg Config) (*Service, error) {
	cfg.setDefaults()
	s := &Service{store: st, issuers: issuers, cfg: cfg, log: cfg.Logger, dirty: map[string]bool{}, wake: make(chan struct{}, 1),
		changes: map[string]uint64{}, published: map[string]uint64{}}
	r, err := NewResponder(caDirectory{issuers}, statusSource{st}, cfg.OCSP)
	if err != nil {
		return nil, err
	}
	s.responder = r
	return s, nil
}

// OCSPHandler serves the responder under prefix.
func (s *Service) OCSPHandler(prefix string) *OCSPHandler { return NewOCSPHandler(s.responder, prefix) }

// Responder is the OCSP responder (Reload it after CAs change).
func (s *Service) Responder() *Responder { return s.responder }

// StatusChanged is called after a revoke, suspend or resume commits: OCSP
// answers the new status at once, and the CA's CRLs are regenerated.
func (s *Service) StatusChanged(_ context.Context, c *store.Certificate) {
	if n, ok := new(big.Int).SetString(c.Serial, 16); ok {
		s.responder.Invalidate(c.CAID, n)
	}
	if c.CAID == "" {
		return
	}
	s.mu.Lock()
	s.dirty[c.CAID] = true
	s.changes[c.CAID]++
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends: every CA's CRLs at start and every
// CRLInterval, a CA's at once when one of its certificates changes status
// (here, or on another node: the leader polls the audit log). leader says
// whether this node runs the job (always true on SQLite).
func (s *Service) Run(ctx context.Context, leader func() bool) {
	s.lastChange = s.cfg.Now()
	full := time.NewTicker(s.cfg.CRLInterval)
	defer full.Stop()
	poll := time.NewTicker(s.cfg.Poll)
	defer poll.Stop()
	all := true
	for {
		if leader() {
			s.publishPending(ctx, all)
			all = false
		}
		select {
		case <-ctx.Done():
			return
		case <-full.C:
			all = true
		case <-poll.C:
			if leader() {
				s.markChangedElsewhere(ctx)
			}
		case <-s.wake:
			// Let a burst of revocations land in one CRL.
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (s *Service) publishPending(ctx context.Context, all bool) {
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = map[string]bool{}
	s.mu.Unlock()
	for _, iss := range s.issuers.All() {
		if iss.Signer == nil || (!all && !dirty[iss.CA.ID]) {
			continue
		}
		if err := s.Publish(ctx, iss.CA.ID); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "CRL publication failed", "ca", iss.CA.ID, "err", err)
			s.mu.Lock()
			s.dirty[iss.CA.ID] = true // try again on the next round
			s.mu.Unlock()
		}
	}
}

// markChangedElsewhere finds status changes committed by other nodes since
// the last look, through the audit log every change writes.
func (s *Service) markChangedElsewhere(ctx context.Context) {
	since := s.lastChange
	for _, action := range []string{"certificate.revoke", "certificate.suspend", "certificate.resume"} {
		evs, err := s.store.SearchAuditEvents(ctx, store.AuditQuery{Action: action, From: &since, Limit: 1000})
		if err != nil {
			s.log.WarnContext(ctx, "poll status changes", "err", err)
			return
		}
		for _, ev := range evs {
			if c, err := s.store.GetCertificate(ctx, ev.ObjectID); err == nil {
				s.StatusChanged(ctx, c)
			}
			if ev.Time.After(s.lastChange) {
				s.lastChange = ev.Time
			}
		}
	}
}

// Publish signs and stores a new full CRL of the CA and, when an earlier
// full CRL exists, a delta CRL of what changed since it.
func (s *Service) Publish(ctx context.Context, caID string) error {
	iss := s.issuer(caID)
	if iss == nil || iss.Signer == nil {
		return problem.Conflict("ca_cannot_sign", "CA %s has no key in Signet and publishes no CRL", caID)
	}
	s.mu.Lock()
	gen := s.changes[caID] // what this publication covers, at least
	s.mu.Unlock()
	prev, err := s.store.LatestCRL(ctx, caID, false)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for attempt := 0; ; attempt++ {
		err := s.publishOnce(ctx, iss, prev)
		if err == nil {
			s.mu.Lock()
			if s.published[caID] < gen {
				s.published[caID] = gen
			}
			s.mu.Unlock()
			return nil
		}
		if attempt == 3 || !(errors.Is(err, store.ErrDuplicate) || errors.Is(err, ErrSourceChanged)) {
			return err
		}
	}
}

func (s *Service) publishOnce(ctx context.Context, iss *ca.Issuer, prev *store.CRL) error {
	now := s.cfg.Now().UTC().Truncate(time.Second)
	n, err := s.store.MaxCRLNumber(ctx, iss.CA.ID)
	if err != nil {
		return err
	}
	q := store.RevokedQuery{CAID: iss.CA.ID, NotAfterFrom: now.Add(-s.cfg.ExpiredGrace)}
	full, count, err := s.sign(ctx, iss, n+1, 0, now, s.revokedSource(q, nil))
	if err != nil {
		return err
	}
	crls := []*store.CRL{{CAID: iss.CA.ID, Number: n + 1, ThisUpdate: now, NextUpdate: now.Add(s.cfg.CRLValidity), Entries: count, DER: full}}
	if prev != nil {
		since := prev.ThisUpdate
		q.ChangedSince = &since
		resumed, err := s.resumedSince(ctx, iss.CA.ID, since)
		if err != nil {
			return err
		}
		delta, count, err := s.sign(ctx, iss, n+2, prev.Number, now, s.revokedSource(q, resumed))
		if err != nil {
			return err
		}
		crls = append(crls, &store.CRL{CAID: iss.CA.ID, Number: n + 2, BaseNumber: prev.Number, ThisUpdate: now,
			NextUpdate: now.Add(s.cfg.CRLValidity), Entries: count, DER: delta})
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		for _, c := range crls {
			if err := tx.InsertCRL(ctx, c); err != nil {
				return fmt.Errorf("store CRL %d of %s: %w", c.Number, c.CAID, err)
			}
		}
		return nil
	})
}

func (s *Service) sign(ctx context.Context, iss *ca.Issuer, number, base int64, now time.Time, src *countingSource) ([]byte, int64, error) {
	tmpl := &CRLTemplate{Number: big.NewInt(number), ThisUpdate: now, NextUpdate: now.Add(s.cfg.CRLValidity)}
	if base > 0 {
		tmpl.BaseNumber = big.NewInt(base)
	}
	der, err := CreateCRL(ctx, tmpl, iss.Cert, iss.Signer, src)
	if err != nil {
		return nil, 0, fmt.Errorf("sign CRL %d of %s: %w", number, iss.CA.ID, err)
	}
	return der, src.n, nil
}

// countingSource feeds a CRL: the first pass reads the CA's revoked and
// held certificates from the store (once: reading rows costs more than
// encoding them) into a compact arena, about 35 bytes an entry; the second
// pass replays the arena. removeFromCRL entries of a delta follow.
type countingSource struct {
	store   Store
	q       store.RevokedQuery
	resumed []Entry
	n       int64
	arena   []byte // per entry: serial length, serial bytes, reason, revocation and invalidity time (unix µs, 8 bytes each; 0 = none)
	read    bool
}

func (s *Service) revokedSource(q store.RevokedQuery, resumed []Entry) *countingSource {
	return &countingSource{store: s.store, q: q, resumed: resumed}
}

func (c *countingSource) Entries(ctx context.Context, yield func(Entry) error) error {
	c.n = 0
	if !c.read {
		if err := c.load(ctx); err != nil {
			return err
		}
		c.read = true
	}
	serial := new(big.Int)
	for a := c.arena; len(a) > 0; {
		l := int(a[0])
		serial.SetBytes(a[1 : 1+l])
		reason := int(a[1+l])
		us := int64(binary.BigEndian.Uint64(a[2+l : 10+l]))
		inv := int64(binary.BigEndian.Uint64(a[10+l : 18+l]))
		a = a[18+l:]
		e := Entry{Serial: serial, RevokedAt: time.UnixMicro(us).UTC(), Reason: reason}
		if inv != 0 {
			e.InvalidityDate = time.UnixMicro(inv).UTC()
		}
		c.n++
		if err := yield(e); err != nil {
			return err
		}
	}
	for _, e := range c.resumed {
		c.n++
		if err := yield(e); err != nil {
			return err
		}
	}
	return nil
}

func (c *countingSource) load(ctx context.Context) error {
	var buf [8]byte
	var raw [21]byte
	return c.store.ForEachRevoked(ctx, c.q, func(cert *store.Certificate) error {
		b, ok := serialBytes(cert.Serial, raw[:])
		if !ok || cert.RevokedAt == nil {
			return fmt.Errorf("certificate %s: malformed serial or no revocation time", cert.Serial)
		}
		reason := cert.RevocationReason
		if cert.Status == store.CertOnHold {
			reason = reasonCertificateHold
		}
		c.arena = append(c.arena, byte(len(b)))
		c.arena = append(c.arena, b...)
		binary.BigEndian.PutUint64(buf[:], uint64(cert.RevokedAt.UnixMicro()))
		c.arena = append(append(c.arena, byte(reason)), buf[:]...)
		var inv int64
		if cert.InvalidityDate != nil {
			inv = cert.InvalidityDate.UnixMicro()
		}
		binary.BigEndian.PutUint64(buf[:], uint64(inv))
		c.arena = append(c.arena, buf[:]...)
		return nil
	})
}

// serialBytes decodes a canonical hex serial (no leading zeros, at most 20
// octets) into dst without allocating: big.Int's parser dominated the read.
func serialBytes(h string, dst []byte) ([]byte, bool) {
	if len(h) == 0 || len(h) > 40 {
		return nil, false
	}
	n := (len(h) + 1) / 2
	out := dst[:n]
	clear(out) // dst is reused: a nibble left from the previous serial would corrupt this one
	odd := len(h)%2 == 1
	for i := 0; i < len(h); i++ {
		v, ok := hexValue(h[i])
		if !ok {
			return nil, false
		}
		pos := i
		if odd {
			pos++
		}
		if pos%2 == 0 {
			out[pos/2] = v << 4
		} else {
			out[pos/2] |= v
		}
	}
	return out, true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// resumedSince lists, as removeFromCRL entries, the CA's certificates
// taken off hold since t and still active.
func (s *Service) resumedSince(ctx context.Context, caID string, t time.Time) ([]Entry, error) {
	evs, err := s.store.SearchAuditEvents(ctx, store.AuditQuery{Action: "certificate.resume", From: &t, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var out []Entry
	seen := map[string]bool{}
	for _, ev := range evs {
		c, err := s.store.GetCertificate(ctx, ev.ObjectID)
		if err != nil || c.CAID != caID || c.Status != store.CertActive || seen[c.Serial] {
			continue
		}
		seen[c.Serial] = true
		n, ok := new(big.Int).SetString(c.Serial, 16)
		if !ok {
			continue
		}
		out = append(out, Entry{Serial: n, RevokedAt: ev.Time, Reason: reasonRemoveFromCRL})
	}
	return out, nil
}

func (s *Service) issuer(caID string) *ca.Issuer {
	for _, iss := range s.issuers.All() {
		if iss.CA.ID == caID {
			return iss
		}
	}
	return nil
}

// CRL returns the newest full or delta CRL of a CA (by id or name),
// publishing one first if the CA has none yet. It is public information.
func (s *Service) CRL(ctx context.Context, caRef string, delta bool) (*store.CRL, error) {
	rec, err := s.issuers.Resolve(ctx, caRef)
	if err != nil {
		return nil, err
	}
	// Read-your-writes: a status change made through this node is in the
	// next CRL it serves, even before the background publication ran.
	s.mu.Lock()
	stale := s.changes[rec.ID] > s.published[rec.ID]
	s.mu.Unlock()
	if stale {
		if err := s.Publish(ctx, rec.ID); err != nil {
			return nil, err
		}
	}
	c, err := s.store.LatestCRL(ctx, rec.ID, delta)
	if errors.Is(err, store.ErrNotFound) && !delta {
		if err := s.Publish(ctx, rec.ID); err != nil {
			return nil, err
		}
		c, err = s.store.LatestCRL(ctx, rec.ID, false)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("crl_not_published", "CA %s has published no delta CRL yet", rec.Name)
	}
	return c, err
}

// caDirectory adapts the CA service for the responder.
type caDirectory struct{ issuers Issuers }

func (d caDirectory) CAs(context.Context) ([]CA, error) {
	all := d.issuers.All()
	out := make([]CA, 0, len(all))
	for _, iss := range all {
		out = append(out, CA{ID: iss.CA.ID, Certificate: iss.Cert, Signer: iss.Signer})
	}
	return out, nil
}

// statusSource answers the responder from the inventory.
type statusSource struct{ store Store }

func (s statusSource) CertStatus(ctx context.Context, caID string, serial *big.Int) (CertStatus, error) {
	c, err := s.store.GetCertificate(ctx, serial.Text(16))
	if errors.Is(err, store.ErrNotFound) {
		return CertStatus{}, nil
	}
	if err != nil {
		return CertStatus{}, err
	}
	if c.CAID != caID {
		return CertStatus{}, nil // a serial of another CA is unknown to this one
	}
	st := CertStatus{Known: true, Status: StatusGood}
	switch c.Status {
	case store.CertRevoked:
		st.Status, st.Reason = StatusRevoked, c.RevocationReason
	case store.CertOnHold:
		st.Status, st.Reason = StatusOnHold, reasonCertificateHold
	}
	if c.RevokedAt != nil {
		st.RevokedAt = *c.RevokedAt
	}
	return st, nil
}
