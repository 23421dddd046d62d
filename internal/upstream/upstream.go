// Package upstream makes Signet a broker to external CAs: connectors an
// admin configures (step-ca or another Signet through a JWK provisioner,
// and the other types as they land), with credentials sealed at rest, and
// the calls issuance makes to them (issue, poll, revoke) with per-connector
// health, usage counts and an audit event per call.
//
// Connectors live in the store's ProtocolObject table: kind
// "upstream.connector", AccountID the organization, KeyID the name.
package upstream

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Kinds of ProtocolObject this package owns.
const (
	KindConnector = "upstream.connector"
)

// Connector types.
const (
	TypeStepCA = "stepca" // step-ca (or anything speaking its /1.0/sign API) with a JWK provisioner
)

// Types lists the connector types that can be created.
var Types = []string{TypeStepCA, TypeACME, TypeDigiCert, TypeSectigo}

// Order is one certificate request sent upstream.
type Order struct {
	RequestID    string // Signet's request id, for the upstream's records and the audit
	CSR          []byte // DER PKCS#10; its signature proves possession of the key
	ValidityDays int    // 0 = the upstream's default
}

// Result is an upstream's answer to Issue or Poll: either the certificate
// (Chain, leaf first) or, for asynchronous upstreams, a reference to poll.
type Result struct {
	Chain [][]byte
	Ref   string
}

// Issuer is one connector type's client. Implementations make exactly the
// calls asked for: retries, backoff and bookkeeping are the caller's.
type Issuer interface {
	Issue(ctx context.Context, o Order) (Result, error)
	// Poll asks about an order Issue answered with a reference.
	Poll(ctx context.Context, ref string) (Result, error)
	// Revoke revokes leaf upstream with an RFC 5280 reason code.
	Revoke(ctx context.Context, leaf *x509.Certificate, reason int) error
}

// RejectedError is an upstream's definitive "no" (bad request, policy,
// authorization): retrying the same request cannot succeed. Any other error
// is treated as transient (network, 5xx, timeouts) and retried.
type RejectedError struct {
	Status  int    // the upstream's HTTP status, if any
	Message string // the upstream's own words
}

func (e *RejectedError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("upstream rejected the request (HTTP %d): %s", e.Status, e.Message)
	}
	return "upstream rejected the request: " + e.Message
}

// IsRejected reports whether err is a definitive upstream refusal.
func IsRejected(err error) bool {
	var r *RejectedError
	return errors.As(err, &r)
}

// Stats are a connector's health and usage, updated on every call.
type Stats struct {
	Issued      int64      `json:"issued"`
	Pending     int64      `json:"pending"` // answers that were "not yet" (asynchronous orders)
	Failed      int64      `json:"failed"`  // calls that failed (transient or rejected)
	Revoked     int64      `json:"revoked"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// Connector is an upstream CA as configured, without its secrets.
type Connector struct {
	ID        string         `json:"id"`
	OrgID     string         `json:"org_id"`
	Name      string         `json:"name"`
	Type      string         `json:"type"`
	Status    string         `json:"status"` // active | disabled
	Config    map[string]any `json:"config"` // type-specific, public settings (URL, provisioner, roots)
	Secrets   []string       `json:"secret_names"`
	Stats     Stats          `json:"stats"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// record is the stored form: the connector plus its sealed secrets.
type record struct {
	Connector
	Sealed []byte `json:"sealed,omitempty"` // keystore-sealed JSON map of secrets, bound to the connector id
}

// Connector statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)
