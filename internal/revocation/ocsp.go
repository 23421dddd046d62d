package revocation

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Status is a certificate's state as the store records it.
type Status int

// Certificate states. On hold is reported over OCSP as revoked with reason
// certificateHold (RFC 6960 section 2.2), so a resumed certificate can turn good again.
const (
	StatusGood Status = iota
	StatusRevoked
	StatusOnHold
)

// CertStatus is what the store knows about one serial of one CA.
type CertStatus struct {
	// Known is false for a serial the CA never issued (as far as the store
	// knows); the responder then answers a signed "unknown".
	Known  bool
	Status Status
	// RevokedAt is required for StatusRevoked and StatusOnHold.
	RevokedAt time.Time
	// Reason is the RFC 5280 CRLReason of a revocation; zero (unspecified)
	// is left out of the response. Ignored for StatusOnHold.
	Reason int
}

// StatusSource answers status lookups; the store implements it. serial is the
// certificate serial from the request (serial.Text(16) is Signet's stored
// form). The responder calls it at most once per OCSP request, and not at
// all while a cached response is fresh.
type StatusSource interface {
	CertStatus(ctx context.Context, caID string, serial *big.Int) (CertStatus, error)
}

// CA is one certificate authority the responder answers for.
type CA struct {
	// ID is the CA's public id; it is also the {ca} in /ocsp/{ca}.
	ID          string
	Certificate *x509.Certificate
	// Signer is the CA's private key, nil when Signet holds none (an
	// imported external CA). Such CAs are known but not authoritative:
	// the responder answers "unauthorized" for them (see Respond).
	Signer crypto.Signer
}

// CADirectory lists the CAs to answer for; the CA service implements it. It
// is read at the first request, by Reload, and again when a request names an
// issuer the responder does not know (at most once per CAReloadInterval).
type CADirectory interface {
	CAs(ctx context.Context) ([]CA, error)
}

// SigningMode chooses which key signs OCSP responses.
type SigningMode int

const (
	// SignWithCA signs every response with the CA's own key.
	SignWithCA SigningMode = iota
	// SignDelegated signs with a per-CA responder key (ECDSA P-256, kept
	// in memory only) certified by the CA for id-kp-OCSPSigning with
	// id-pkix-ocsp-nocheck (RFC 6960 section 4.2.2.2). It keeps the CA key
	// (perhaps in an HSM) off the OCSP hot path.
	SignDelegated
)

// ResponderConfig tunes a Responder. Zero values take the defaults.
type ResponderConfig struct {
	Mode SigningMode
	// ResponseValidity is nextUpdate − now of a fresh response (default 1 h).
	ResponseValidity time.Duration
	// RefreshFraction: a cached response is re-signed once less than this
	// fraction of its validity remains (default 0.5).
	RefreshFraction float64
	// CacheSize bounds the cached responses for known serials (default
	// 100,000; about 0.5–1 KiB each); negative disables the cache.
	CacheSize int
	// UnknownCacheSize bounds cached "unknown" responses separately, so a
	// client asking for random serials cannot evict the useful ones
	// (default CacheSize/10); negative disables it.
	UnknownCacheSize int
	// ResponderCertValidity is the lifetime of a delegated responder
	// certificate (default 7 days), clamped inside the CA's validity. The
	// certificate is replaced after 2/3 of its life.
	ResponderCertValidity time.Duration
	// RecordResponderCert must durably record each new delegated responder
	// certificate (every certificate a client can receive is recorded); it
	// is called before the certificate is first used, and a failure keeps
	// the previous certificate while it is valid. Required for SignDelegated.
	RecordResponderCert func(ctx context.Context, caID string, der []byte) error
	// CAReloadInterval bounds how often an unknown issuer triggers a
	// CADirectory read (default 30 s).
	CAReloadInterval time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
}

// Defaults of ResponderConfig.
const (
	DefaultResponseValidity      = time.Hour
	DefaultRefreshFraction       = 0.5
	DefaultCacheSize             = 100_000
	DefaultResponderCertValidity = 7 * 24 * time.Hour
	DefaultCAReloadInterval      = 30 * time.Second
)

// clockSkew back-dates thisUpdate and responder certificates' notBefore, as
// Signet back-dates certificates (docs/decisions.md 6), so clients whose clock
// is slightly behind accept them.
const clockSkew = time.Minute

func (c *ResponderConfig) setDefaults() error {
	if c.ResponseValidity <= 0 {
		c.ResponseValidity = DefaultResponseValidity
	}
	if c.RefreshFraction <= 0 || c.RefreshFraction >= 1 {
		c.RefreshFraction = DefaultRefreshFraction
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.UnknownCacheSize == 0 {
		c.UnknownCacheSize = max(c.CacheSize/10, 1)
	}
	if c.ResponderCertValidity <= 0 {
		c.ResponderCertValidity = DefaultResponderCertValidity
	}
	if c.CAReloadInterval <= 0 {
		c.CAReloadInterval = DefaultCAReloadInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch c.Mode {
	case SignWithCA:
	case SignDelegated:
		if c.RecordResponderCert == nil {
			return errors.New("revocation: delegated OCSP signing needs RecordResponderCert")
		}
	default:
		return fmt.Errorf("revocation: unknown OCSP signing mode %d", c.Mode)
	}
	return nil
}

// Responder answers OCSP requests (RFC 6960, with the RFC 5019 caching
// profile) for the CAs of a CADirectory. Responses without a nonce are signed
// once per (CA, serial, CertID hash) and served from a bounded cache until
// RefreshFraction of their validity remains; Invalidate drops one at once.
// Requests with a nonce are signed fresh, the nonce echoed in the
// responseExtensions.
//
// Responses are DER-encoded here rather than by ocsp.CreateResponse, which
// can place extensions only in singleExtensions (RFC 6960 section 4.4.1
// puts the nonce in responseExtensions, where OpenSSL looks for it) and
// stamps producedAt from the wall clock instead of the injected one. The
// layout is otherwise the same as ocsp.CreateResponse's, which a test checks
// byte for byte. golang.org/x/crypto/ocsp parses the requests.
type Responder struct {
	cfg     ResponderConfig
	dir     CADirectory
	status  StatusSource
	log     *slog.Logger
	known   *responseCache
	unknown *responseCache

	index    atomic.Pointer[caIndex]
	reloadMu sync.Mutex
	loadedAt time.Time // guarded by reloadMu

	flightMu sync.Mutex
	flights  map[cacheKey]*flight
}

// NewResponder builds a responder. It does not read the directory yet; call
// Reload at start to load the CAs and prepare the responder certificates
// before the first request, and again whenever CAs are added or changed.
func NewResponder(dir CADirectory, status StatusSource, cfg ResponderConfig) (*Responder, error) {
	if dir == nil || status == nil {
		return nil, errors.New("revocation: responder needs a CA directory and a status source")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Responder{
		cfg:     cfg,
		dir:     dir,
		status:  status,
		log:     cfg.Logger,
		known:   newResponseCache(cfg.CacheSize),
		unknown: newResponseCache(cfg.UnknownCacheSize),
		flights: map[cacheKey]*flight{},
	}, nil
}

// Response is a DER OCSP response with what HTTP needs to serve it.
type Response struct {
	DER []byte
	// Status is ocsp.Success for signed responses, else the error status.
	Status ocsp.ResponseStatus
	// ThisUpdate and NextUpdate are set for signed responses.
	ThisUpdate, NextUpdate time.Time
	// Cacheable responses may be kept by HTTP caches until NextUpdate;
	// nonce responses and error responses are not cacheable.
	Cacheable bool
	// ETag is a quoted strong entity tag of DER, set when Cacheable.
	ETag string

	lastModified, expires string // preformatted HTTP dates
}

// errorResponse returns the unsigned response for an OCSP error status.
func errorResponse(s ocsp.ResponseStatus) *Response {
	// The x/crypto byte slices are shared; Response users never write to DER.
	var der []byte
	switch s {
	case ocsp.Malformed:
		der = ocsp.MalformedRequestErrorResponse
	case ocsp.InternalError:
		der = ocsp.InternalErrorErrorResponse
	case ocsp.TryLater:
		der = ocsp.TryLaterErrorResponse
	default:
		der = ocsp.UnauthorizedErrorResponse
	}
	return &Response{DER: der, Status: s}
}

// Respond answers one DER OCSP request. caID, when not empty, is the CA the
// request was addressed to (/ocsp/{ca}); the request's issuer must then be
// that CA. Respond never fails: problems become OCSP error responses —
//   - malformedRequest: unparsable, an unsupported CertID hash (SHA-1 and
//     SHA-2 are answered), more than one certificate in the request (this
//     responder answers one per request, as RFC 5019 clients send), or a
//     signed request (x/crypto/ocsp refuses those);
//   - unauthorized: an issuer that is not one of the directory's CAs, a CA
//     for which Signet holds no key (no response about it could be signed
//     by a key clients accept, so "unknown" is not an option), or an
//     expired CA;
//   - tryLater: the status source or the signer failed (logged).
//
// A serial the store has never seen gets a signed "unknown".
func (r *Responder) Respond(ctx context.Context, caID string, request []byte) *Response {
	req, nonce, err := parseRequest(request)
	if err != nil {
		return errorResponse(ocsp.Malformed)
	}
	st := r.lookupCA(ctx, caID, req)
	if st == nil && r.index.Load() == nil { // the directory has never been readable
		return errorResponse(ocsp.TryLater)
	}
	if st == nil || st.ca.Signer == nil {
		return errorResponse(ocsp.Unauthorized)
	}
	now := r.cfg.Now()
	key := cacheKey{ca: st, serial: serialKey(req.SerialNumber), hash: req.HashAlgorithm}
	var resp *Response
	if nonce == nil {
		resp, err = r.cached(ctx, st, req, key, now)
	} else {
		resp, err = r.fresh(ctx, st, req, key, nonce, now)
	}
	if err != nil {
		if errors.Is(err, errNotAuthoritative) {
			return errorResponse(ocsp.Unauthorized)
		}
		if ctx.Err() != nil { // the client left while waiting for a shared fill
			return errorResponse(ocsp.TryLater)
		}
		r.log.ErrorContext(ctx, "ocsp: cannot answer", "ca", st.ca.ID, "serial", req.SerialNumber.Text(16), "err", err)
		return errorResponse(ocsp.TryLater)
	}
	return resp
}

// cached serves a response from the cache, filling it on a miss; concurrent
// misses for one key share a single lookup and signature.
func (r *Responder) cached(ctx context.Context, st *caState, req *ocsp.Request, key cacheKey, now time.Time) (*Response, error) {
	if e := r.lookupCache(key, now); e != nil {
		return e.resp, nil
	}
	r.flightMu.Lock()
	if f, ok := r.flights[key]; ok {
		r.flightMu.Unlock()
		select {
		case <-f.done:
			return f.resp, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	r.flights[key] = f
	r.flightMu.Unlock()

	// The fill serves every waiter, so the first client hanging up must not
	// cancel it; the status source's own timeouts bound it.
	f.resp, f.err = r.fill(context.WithoutCancel(ctx), st, req, key, now)
	r.flightMu.Lock()
	delete(r.flights, key)
	r.flightMu.Unlock()
	close(f.done)
	return f.resp, f.err
}

// flight is one cache fill that concurrent requests wait for.
type flight struct {
	done chan struct{}
	resp *Response
	err  error
}

func (r *Responder) lookupCache(key cacheKey, now time.Time) *cacheEntry {
	if e := r.known.get(key); e != nil && now.Before(e.refreshAt) {
		return e
	}
	if e := r.unknown.get(key); e != nil && now.Before(e.refreshAt) {
		return e
	}
	return nil
}

func (r *Responder) fill(ctx context.Context, st *caState, req *ocsp.Request, key cacheKey, now time.Time) (*Response, error) {
	// Generations taken before the lookup: an Invalidate racing with this
	// fill makes the insert below a no-op, so a status read before a
	// revocation can never be cached after it.
	genKnown, genUnknown := r.known.generation(key), r.unknown.generation(key)
	cs, err := r.status.CertStatus(ctx, st.ca.ID, req.SerialNumber)
	if err != nil {
		return nil, fmt.Errorf("status lookup: %w", err)
	}
	e, err := r.sign(ctx, st, req, cs, nil, now)
	if err != nil {
		return nil, err
	}
	if cs.Known {
		r.known.put(key, e, genKnown)
	} else {
		r.unknown.put(key, e, genUnknown)
	}
	return e.resp, nil
}

// fresh signs a response carrying the request's nonce. A fresh cache entry
// still saves the status lookup: Invalidate removes entries whose status changed.
func (r *Responder) fresh(ctx context.Context, st *caState, req *ocsp.Request, key cacheKey, nonce []byte, now time.Time) (*Response, error) {
	var cs CertStatus
	if e := r.lookupCache(key, now); e != nil {
		cs = e.status
	} else {
		var err error
		if cs, err = r.status.CertStatus(ctx, st.ca.ID, req.SerialNumber); err != nil {
			return nil, fmt.Errorf("status lookup: %w", err)
		}
	}
	e, err := r.sign(ctx, st, req, cs, nonce, now)
	if err != nil {
		return nil, err
	}
	return e.resp, nil
}

// sign produces the signed response for cs and the cache entry holding it.
func (r *Responder) sign(ctx context.Context, st *caState, req *ocsp.Request, cs CertStatus, nonce []byte, now time.Time) (*cacheEntry, error) {
	id, err := r.identity(ctx, st, now)
	if err != nil {
		return nil, err
	}
	certID, ok := st.certIDs[req.HashAlgorithm]
	if !ok { // lookupCA matched the request's hash, so this is a bug
		return nil, fmt.Errorf("no CertID for hash %v", req.HashAlgorithm)
	}
	thisUpdate := now.Truncate(time.Second).Add(-clockSkew)
	nextUpdate := now.Add(r.cfg.ResponseValidity).Truncate(time.Second)
	if nextUpdate.After(id.notAfter) {
		// A response must not outlive the certificate that verifies it.
		nextUpdate = id.notAfter
	}
	der, err := id.encodeResponse(responseFields{
		certID:     certID,
		serial:     req.SerialNumber,
		status:     cs,
		producedAt: now,
		thisUpdate: thisUpdate,
		nextUpdate: nextUpdate,
		nonce:      nonce,
	})
	if err != nil {
		return nil, err
	}
	resp := &Response{DER: der, Status: ocsp.Success, ThisUpdate: thisUpdate, NextUpdate: nextUpdate, Cacheable: nonce == nil}
	if resp.Cacheable {
		sum := sha256.Sum256(der)
		resp.ETag = `"` + hex.EncodeToString(sum[:16]) + `"`
		// RFC 5019 section 6.2: Last-Modified is when the response was produced.
		resp.lastModified = now.UTC().Format(http.TimeFormat)
		resp.expires = nextUpdate.UTC().Format(http.TimeFormat)
	}
	keep := time.Duration(float64(nextUpdate.Sub(now)) * (1 - r.cfg.RefreshFraction))
	return &cacheEntry{resp: resp, status: cs, refreshAt: now.Add(keep)}, nil
}

// Invalidate drops the cached responses for one certificate, so the next
// request reads its status again; call it after every revoke, suspend and
// resume. A fill racing with it does not re-insert the old status.
func (r *Responder) Invalidate(caID string, serial *big.Int) {
	idx := r.index.Load()
	if idx == nil || serial == nil {
		return
	}
	st := idx.byID[caID]
	if st == nil {
		return
	}
	s := serialKey(serial)
	for _, h := range certIDHashes {
		key := cacheKey{ca: st, serial: s, hash: h}
		r.known.remove(key)
		r.unknown.remove(key)
	}
}

// serialKey is the cache key form of a serial; the sign keeps -n and n apart.
func serialKey(n *big.Int) string {
	b := n.Bytes()
	if n.Sign() < 0 {
		return "-" + string(b)
	}
	return string(b)
}
