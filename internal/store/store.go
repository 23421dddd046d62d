// Package store is Signet's persistence contract: the records it keeps and the
// interfaces the domain services consume. Implementations live in store/sqlite
// (and later store/postgres); storetest holds the conformance suite both run.
//
// Every write goes through Store.Update. Implementations run update functions
// on a single writer which batches several of them into one transaction (group
// commit): a function's writes and the audit events it appends become durable
// together, before Update returns. This is what lets the issuance service
// promise that a certificate returned to a client is already in the inventory.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Services translate them into problem.Errors with context.
var (
	ErrNotFound  = errors.New("store: not found")
	ErrDuplicate = errors.New("store: duplicate") // unique constraint (serial, name, idempotency key)
	ErrConflict  = errors.New("store: conflict")  // conditional update found the row in another state
	ErrBadCursor = errors.New("store: malformed cursor")
	// ErrUnavailable: the database cannot be reached (network, failover).
	// Nothing was written; the caller may retry later.
	ErrUnavailable = errors.New("store: database unavailable")
)

// Certificate statuses as stored. "expired" is derived from NotAfter, never stored.
const (
	CertActive  = "active"
	CertRevoked = "revoked"
	CertOnHold  = "on_hold"
	CertExpired = "expired" // query-only pseudo-status: active and NotAfter <= now
)

// Certificate sources.
const (
	SourceIssued     = "issued"
	SourceImported   = "imported"
	SourceDiscovered = "discovered"
)

// Request statuses.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestIssued   = "issued"
	RequestRejected = "rejected"
	RequestFailed   = "failed"
	// RequestPendingUpstream: an external CA has the request (asynchronous
	// order, or an upstream that failed and is being retried).
	RequestPendingUpstream = "pending_upstream"
)

// Profile issuer types.
const (
	IssuerInternal   = "internal"
	IssuerExternal   = "external"
	IssuerSelfSigned = "self_signed"
)

// CA kinds and statuses.
const (
	CARoot         = "root"
	CAIntermediate = "intermediate"
	CAImported     = "imported"
	CAActive       = "active"
	CADisabled     = "disabled"
)

// CA is a certificate authority Signet knows: one it runs (root/intermediate,
// with a sealed key) or an imported external one (certificate, key optional).
type CA struct {
	IntID     int64
	ID        string // public id, "ca_..."
	OrgID     string // owning organization
	Name      string // unique, human chosen
	Kind      string // root | intermediate | imported
	Status    string // active | disabled
	ParentID  string // issuing CA's public id; "" for roots and CAs whose issuer Signet does not hold
	CertDER   []byte
	KeyBlob   []byte // keystore-sealed private key; nil when Signet cannot sign with this CA
	Subject   string // RFC 4514
	SerialHex string
	SKIHex    string // subject key identifier, hex
	NotBefore time.Time
	NotAfter  time.Time
	KeyType   string
	CRLURL    string
	OCSPURL   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Template is a named set of constraints; Spec is policy.Template as JSON.
type Template struct {
	IntID       int64
	ID          string // "tpl_..."
	OrgID       string
	Name        string
	Description string
	Spec        []byte
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Profile names what clients ask for: template + issuing CA + how to enroll.
type Profile struct {
	IntID               int64
	ID                  string // "prof_..."
	OrgID               string
	Name                string
	Description         string
	TemplateID          string
	CAID                string   // issuing Signet CA of an internal profile; "" for external and self-signed ones
	IssuerType          string   // internal | external | self_signed ("" reads as internal)
	ConnectorID         string   // upstream connector of an external profile
	Approval            string   // auto | manual
	DefaultValidityDays int      // 0 = the template's maximum
	EnrollmentMethods   []string // api, acme, est, scep
	DeliveryFormat      string   // pem | der | chain | pkcs7 | pkcs12
	Status              string   // active | disabled
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Request is a certificate request moving through the approval workflow.
type Request struct {
	IntID        int64
	ID           string // "req_..."
	OrgID        string
	ProfileID    string
	RequesterID  string // principal id
	Status       string // pending | approved | issued | rejected | failed
	Kind         string // enroll | renew
	CSRPEM       string // empty when the server generates the key
	Keygen       []byte // JSON keygen parameters (algorithm, bits, subject, sans) when no CSR
	ValidityDays int
	RenewalOf    string            // serial being renewed, if Kind == renew
	Owner        string            // principal or team id that will own the certificate
	Labels       map[string]string // copied onto the certificate
	CustomFields map[string]string // copied onto the certificate
	Reason       string            // rejection or failure reason
	Method       string            // how it was requested: api | acme | est | scep | cmp | auto_renew | a compatibility API's name
	DecidedBy    string
	DecidedAt    *time.Time
	CertSerial   string // set once issued
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Certificate is one row of the inventory.
type Certificate struct {
	IntID            int64
	Serial           string // canonical lower-case hex, no leading zeros
	OrgID            string // owning organization
	CAID             string // issuing CA's public id; "" when the issuer is not a Signet CA
	ProfileID        string
	RequestID        string
	Issuer           string // issuer DN, RFC 4514
	Subject          string // subject DN, RFC 4514
	CommonName       string
	SANs             []string // DNS names, IPs, emails, URIs as strings
	KeyType          string   // "ECDSA-P256", "RSA-2048", ...
	NotBefore        time.Time
	NotAfter         time.Time
	SHA1             string
	SHA256           string
	DER              []byte
	Status           string // active | revoked | on_hold
	RevocationReason int    // RFC 5280 CRLReason, meaningful when revoked/on_hold
	RevokedAt        *time.Time
	InvalidityDate   *time.Time        // when the key was (suspected) compromised, if given at revocation
	Source           string            // issued | imported | discovered
	Method           string            // enrollment method of an issued certificate (see Request.Method); "" when not issued here
	Owner            string            // principal or team id ("" = nobody in particular)
	Labels           map[string]string // free-form key/value tags
	CustomFields     map[string]string // values of the organization's custom fields
	RenewedFrom      string            // serial
	RenewedBy        string            // serial
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// DefaultOrgID is the organization every installation starts with; objects
// created before organizations existed belong to it.
const DefaultOrgID = "org_default"

// Organization is the tenancy boundary: every CA, template, profile, request
// and certificate belongs to one.
type Organization struct {
	IntID     int64
	ID        string // "org_..."
	Name      string // unique
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Team is a group of principals inside an organization that can own certificates.
type Team struct {
	IntID       int64
	ID          string // "team_..."
	OrgID       string
	Name        string // unique within the organization
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Principal kinds.
const (
	PrincipalUser    = "user"
	PrincipalService = "service_account"
)

// Principal is a user (who logs in with a password) or a service account
// (which only has API keys).
type Principal struct {
	IntID        int64
	ID           string // "usr_..." or "svc_..."
	Kind         string // user | service_account
	OrgID        string // "" for global principals (global admins)
	Name         string // unique login name
	DisplayName  string
	Email        string
	Roles        []string
	TeamIDs      []string
	PasswordHash string // PHC-encoded argon2id; "" = cannot log in with a password
	FailedLogins int
	LockedUntil  *time.Time
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CustomField is an organization-defined certificate attribute.
type CustomField struct {
	IntID         int64
	ID            string // "cf_..."
	OrgID         string
	Name          string // unique within the organization
	Type          string // string | number | boolean | date
	Required      bool
	AllowedValues []string // empty = any value of the type
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AuditQuery filters the audit log. Zero fields do not filter; events come
// in chain order after AfterSeq.
type AuditQuery struct {
	OrgID      string
	Principal  string
	Action     string // exact, or a prefix ending in "." ("certificate.")
	ObjectType string
	ObjectID   string
	Outcome    string
	From, To   *time.Time // From <= time < To
	AfterSeq   int64
	Limit      int
}

// CRL is a published certificate revocation list.
type CRL struct {
	CAID       string
	Number     int64
	BaseNumber int64 // 0 for a full CRL; for a delta, the number of the full CRL it extends
	ThisUpdate time.Time
	NextUpdate time.Time
	Entries    int64
	DER        []byte
}

// RevokedQuery selects the certificates a CRL lists.
type RevokedQuery struct {
	CAID         string
	NotAfterFrom time.Time  // only certificates with NotAfter >= this (expired ones leave after a grace period)
	ChangedSince *time.Time // only those revoked or held at or after this (delta CRLs)
}

// ProtocolObject is one piece of an enrollment protocol's state (an ACME
// account, order, authorization, nonce or EAB key; an EST/SCEP/CMP one-time
// secret; a compatibility API's numeric id...), stored as its package's JSON:
// the protocols' objects change with their extensions, the store only needs
// to find them and move their status atomically. Each package prefixes its
// kinds with its name ("est.secret"); ACME's came first and have none.
type ProtocolObject struct {
	Kind      string // the owning package's names: account | order | authz | nonce | eab (ACME), est.secret, ...
	ID        string // unique within Kind
	AccountID string // owner the kind lists by: an ACME account, an organization ("" = none)
	KeyID     string // lookup key: an account's JWK thumbprint, an EAB key id; "" = none (unique within Kind when set)
	Status    string
	Data      []byte // JSON
	ExpiresAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ObjectCursor is the export cursor after o: its kind and id.
func ObjectCursor(o *ProtocolObject) string { return o.Kind + "\x00" + o.ID }

// SplitObjectCursor parses an ObjectCursor.
func SplitObjectCursor(c string) (kind, id string, ok bool) { return strings.Cut(c, "\x00") }

// Endpoint is a TLS endpoint discovery has scanned.
type Endpoint struct {
	IntID      int64
	ID         string // "ep_..."
	OrgID      string
	Host       string
	Port       int
	ServerName string
	CertSHA256 string // leaf served at the last successful scan ("" if none)
	Grade      string // A+, A, B, C, F
	Rating     []byte // JSON: the discovery package's rating and observation
	Error      string // last scan's failure, if any
	FirstSeen  time.Time
	LastSeen   time.Time // last successful handshake
	LastScan   time.Time
}

// EndpointQuery filters endpoints. Zero fields do not filter.
type EndpointQuery struct {
	OrgID      string
	CertSHA256 string
	Grade      string
	Limit      int
	Cursor     string
}

// NotificationRule says who hears of which events, and how. Its filters
// and targets are the notify package's JSON.
type NotificationRule struct {
	IntID     int64
	ID        string // "nr_..."
	OrgID     string
	Name      string
	Event     string // certificate.expiring | certificate.issue | certificate.revoke | ...
	Spec      []byte // JSON: thresholds, filters, recipients, channels
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Notification is one message to one target, sent at most once per DedupeKey.
type Notification struct {
	IntID       int64
	ID          string // "ntf_..."
	OrgID       string
	RuleID      string
	DedupeKey   string // unique: rule, object, threshold and target
	Channel     string // email | webhook
	Target      string // address or URL
	Status      string // pending | sent | failed (gave up)
	Attempts    int
	LastError   string
	Payload     []byte // JSON
	NextAttempt time.Time
	CreatedAt   time.Time
	SentAt      *time.Time
}

// Agent is a renewal agent as it last reported itself.
type Agent struct {
	IntID       int64
	ID          string // chosen by the agent (stable per host), unique per organization
	OrgID       string
	PrincipalID string // who it authenticates as
	Hostname    string
	Version     string
	Report      []byte // JSON: the certificates it manages and their state
	FirstSeen   time.Time
	LastCheckIn time.Time
}

// APIKey is a hashed bearer credential belonging to a principal.
type APIKey struct {
	IntID       int64
	ID          string // "key_..." also the visible prefix of the secret
	Name        string
	PrincipalID string
	OrgID       string // the principal's organization, kept here so listings can be scoped
	Roles       []string
	SecretHash  []byte // SHA-256 of the secret; secrets are high-entropy so no slow hash is needed
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	LastUsedAt  *time.Time
	CreatedAt   time.Time
}

// AuditEvent is one entry of the hash-chained audit log. Seq, PrevHash and
// Hash are assigned by the writer when the event is committed.
type AuditEvent struct {
	Seq        int64
	Time       time.Time
	Principal  string
	Action     string // e.g. "certificate.issue"
	ObjectType string
	ObjectID   string
	Outcome    string // success | failure | denied
	OrgID      string // organization the object belongs to ("" = global)
	SourceIP   string
	Details    map[string]any
	// DetailsJSON is the stored encoding of Details, which the hash covers (set when read back).
	DetailsJSON []byte
	PrevHash    []byte
	Hash        []byte
}

// Idempotency records which response an Idempotency-Key produced.
type Idempotency struct {
	Key         string
	PrincipalID string
	RequestHash string // hash of the request body, so a reused key with another body is refused
	ResultType  string // "certificate" | "request"
	ResultID    string
	CreatedAt   time.Time
}

// CertificateQuery filters and orders the inventory. Zero fields do not filter.
type CertificateQuery struct {
	OrgID         string            // tenancy scope
	Labels        map[string]string // every label must match exactly
	CustomFields  map[string]string // every custom field must match exactly
	Statuses      []string          // active, revoked, on_hold, expired (derived)
	CAID          string
	ProfileID     string
	Owner         string
	Contains      string // substring of the common name or any SAN (case-insensitive)
	Name          string // exact common name or SAN (case-insensitive)
	NamePrefix    string // common name or SAN starting with this (case-insensitive)
	Serial        string // canonical hex
	SHA256        string
	Source        string
	ExpiresBefore *time.Time // NotAfter < this
	ExpiresAfter  *time.Time // NotAfter >= this
	Now           time.Time  // reference time for the derived "expired" status
	Sort          string     // not_after | -not_after | created_at | -created_at | common_name | -common_name (default -created_at)
	Limit         int        // 1..1000, default 100
	Cursor        string     // opaque, from CertificatePage.NextCursor
	WithTotal     bool       // also count every match (costs one more query)
}

// CertificatePage is one page of a certificate search.
type CertificatePage struct {
	Items      []Certificate
	NextCursor string
	Total      int64 // -1 when not requested
}

// Summary is the inventory dashboard.
type Summary struct {
	Total      int64
	ByStatus   map[string]int64 // active, revoked, on_hold, expired
	Expiring7  int64            // active and expiring within 7 days of Now
	Expiring30 int64
	Expiring90 int64
	ByCA       map[string]int64 // CA public id ("" for external issuers) -> count
}

// ListQuery pages simple collections (CAs, templates, profiles, requests, keys).
type ListQuery struct {
	OrgID     string // tenancy scope ("" = every organization)
	Kind      string // principals only: user | service_account
	Status    string // optional status filter where the collection has one
	ProfileID string // requests only
	Limit     int
	Cursor    string
}

// Reader is every read. Tx embeds it so update functions read their own writes.
type Reader interface {
	GetCA(ctx context.Context, id string) (*CA, error)
	GetCAByName(ctx context.Context, name string) (*CA, error)
	ListCAs(ctx context.Context, q ListQuery) ([]CA, string, error)

	GetTemplate(ctx context.Context, id string) (*Template, error)
	GetTemplateByName(ctx context.Context, name string) (*Template, error)
	ListTemplates(ctx context.Context, q ListQuery) ([]Template, string, error)

	GetProfile(ctx context.Context, id string) (*Profile, error)
	GetProfileByName(ctx context.Context, name string) (*Profile, error)
	ListProfiles(ctx context.Context, q ListQuery) ([]Profile, string, error)
	CountProfilesUsing(ctx context.Context, templateID, caID string) (int64, error)

	GetRequest(ctx context.Context, id string) (*Request, error)
	ListRequests(ctx context.Context, q ListQuery) ([]Request, string, error)

	GetCertificate(ctx context.Context, serial string) (*Certificate, error)
	GetCertificateBySHA256(ctx context.Context, sha256 string) (*Certificate, error)
	SearchCertificates(ctx context.Context, q CertificateQuery) (*CertificatePage, error)
	// Summarize counts the inventory of one organization, or all when orgID is "".
	Summarize(ctx context.Context, now time.Time, orgID string) (*Summary, error)

	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, q ListQuery) ([]APIKey, string, error)

	GetIdempotency(ctx context.Context, principalID, key string) (*Idempotency, error)

	ListAuditEvents(ctx context.Context, afterSeq int64, limit int) ([]AuditEvent, error)
	SearchAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	GetAuditEvent(ctx context.Context, seq int64) (*AuditEvent, error)

	// ForEachRevoked calls fn for every revoked or held certificate q selects,
	// in a stable order, reading one consistent state of the database.
	ForEachRevoked(ctx context.Context, q RevokedQuery, fn func(*Certificate) error) error
	// LatestCRL returns the CA's newest full (delta false) or delta CRL.
	LatestCRL(ctx context.Context, caID string, delta bool) (*CRL, error)
	// MaxCRLNumber is the highest CRL number the CA has used (0 if none).
	MaxCRLNumber(ctx context.Context, caID string) (int64, error)

	GetProtocolObject(ctx context.Context, kind, id string) (*ProtocolObject, error)
	// FindProtocolObject looks an object up by its KeyID (an account by key thumbprint).
	FindProtocolObject(ctx context.Context, kind, keyID string) (*ProtocolObject, error)
	// ListProtocolObjects pages an account's objects of a kind, oldest first (cursor: "" to start).
	ListProtocolObjects(ctx context.Context, kind, accountID string, limit int, cursor string) ([]ProtocolObject, string, error)
	// ExportProtocolObjects pages every object of every kind in (kind, id)
	// order, for copying a whole store (cursor: "" to start).
	ExportProtocolObjects(ctx context.Context, limit int, cursor string) ([]ProtocolObject, string, error)

	GetEndpoint(ctx context.Context, id string) (*Endpoint, error)
	ListEndpoints(ctx context.Context, q EndpointQuery) ([]Endpoint, string, error)

	GetNotificationRule(ctx context.Context, id string) (*NotificationRule, error)
	ListNotificationRules(ctx context.Context, q ListQuery) ([]NotificationRule, string, error) // q.Status "enabled" filters
	// DueNotifications lists pending notifications whose NextAttempt is before t, oldest first.
	DueNotifications(ctx context.Context, t time.Time, limit int) ([]Notification, error)
	ListNotifications(ctx context.Context, q ListQuery) ([]Notification, string, error) // newest first; q.Status filters

	GetAgent(ctx context.Context, orgID, id string) (*Agent, error)
	ListAgents(ctx context.Context, q ListQuery) ([]Agent, string, error)

	GetOrganization(ctx context.Context, id string) (*Organization, error)
	GetOrganizationByName(ctx context.Context, name string) (*Organization, error)
	ListOrganizations(ctx context.Context, q ListQuery) ([]Organization, string, error)
	// CountOrganizationObjects counts what still belongs to the organization
	// (teams, principals, CAs, templates, profiles, requests, certificates),
	// stopping early: deletion is refused while it is not zero.
	CountOrganizationObjects(ctx context.Context, orgID string) (int64, error)

	GetTeam(ctx context.Context, id string) (*Team, error)
	GetTeamByName(ctx context.Context, orgID, name string) (*Team, error)
	ListTeams(ctx context.Context, q ListQuery) ([]Team, string, error)

	GetPrincipal(ctx context.Context, id string) (*Principal, error)
	GetPrincipalByName(ctx context.Context, name string) (*Principal, error)
	ListPrincipals(ctx context.Context, q ListQuery) ([]Principal, string, error)

	ListCustomFields(ctx context.Context, orgID string) ([]CustomField, error)
}

// Tx is the view an update function gets: reads plus writes, all in one batch
// transaction. Insert* set IntID (and CreatedAt/UpdatedAt when zero).
type Tx interface {
	Reader

	InsertCA(ctx context.Context, ca *CA) error
	UpdateCA(ctx context.Context, ca *CA) error

	InsertTemplate(ctx context.Context, t *Template) error
	UpdateTemplate(ctx context.Context, t *Template) error
	DeleteTemplate(ctx context.Context, id string) error

	InsertProfile(ctx context.Context, p *Profile) error
	UpdateProfile(ctx context.Context, p *Profile) error
	DeleteProfile(ctx context.Context, id string) error

	InsertRequest(ctx context.Context, r *Request) error
	// UpdateRequest writes r only if the stored status still equals fromStatus, else ErrConflict.
	UpdateRequest(ctx context.Context, r *Request, fromStatus string) error

	// InsertCertificate returns ErrDuplicate when the serial (or SHA-256) exists.
	InsertCertificate(ctx context.Context, c *Certificate) error
	// UpdateCertificate writes c only if the stored status still equals fromStatus, else ErrConflict.
	UpdateCertificate(ctx context.Context, c *Certificate, fromStatus string) error
	// DeleteCertificate removes a certificate Signet did not issue (source
	// imported or discovered) with its DER, name indexes and counts:
	// ErrConflict for an issued one (a CA's record of what it signed, which
	// CRLs, OCSP and the audit log refer to), ErrNotFound for an unknown
	// serial. Its IntID is never given to another certificate: the
	// compatibility APIs expose it.
	DeleteCertificate(ctx context.Context, serial string) error

	InsertAPIKey(ctx context.Context, k *APIKey) error
	UpdateAPIKey(ctx context.Context, k *APIKey) error

	// PutIdempotency returns ErrDuplicate when (principal, key) is taken.
	PutIdempotency(ctx context.Context, i *Idempotency) error

	// InsertCRL stores a published CRL; ErrDuplicate if its number is taken.
	InsertCRL(ctx context.Context, c *CRL) error

	// InsertProtocolObject stores a new object; ErrDuplicate if (Kind, ID) or (Kind, KeyID) is taken.
	InsertProtocolObject(ctx context.Context, o *ProtocolObject) error
	// UpdateProtocolObject rewrites Status, Data, ExpiresAt, KeyID and UpdatedAt if the stored status
	// is still fromStatus: ErrConflict if not, ErrNotFound if there is no such object.
	UpdateProtocolObject(ctx context.Context, o *ProtocolObject, fromStatus string) error
	// DeleteProtocolObject removes an object; ErrNotFound if absent (a nonce used twice).
	DeleteProtocolObject(ctx context.Context, kind, id string) error
	// DeleteExpiredProtocolObjects removes objects of a kind whose ExpiresAt is before t.
	DeleteExpiredProtocolObjects(ctx context.Context, kind string, t time.Time) (int64, error)

	// UpsertEndpoint records a scan of (OrgID, Host, Port, ServerName): a new
	// endpoint gets e.ID and FirstSeen as given; a known one keeps its ID,
	// FirstSeen, and (when this scan saw none) its certificate and LastSeen,
	// which are set back into e.
	UpsertEndpoint(ctx context.Context, e *Endpoint) error

	InsertNotificationRule(ctx context.Context, r *NotificationRule) error
	UpdateNotificationRule(ctx context.Context, r *NotificationRule) error
	DeleteNotificationRule(ctx context.Context, id string) error
	// QueueNotification inserts a message unless its DedupeKey was queued
	// before (then false, and no error: the transaction goes on).
	QueueNotification(ctx context.Context, n *Notification) (bool, error)
	// UpdateNotification records an attempt (Status, Attempts, LastError, NextAttempt, SentAt).
	UpdateNotification(ctx context.Context, n *Notification) error

	// UpsertAgent records a check-in (FirstSeen kept from the first one and set back into a).
	UpsertAgent(ctx context.Context, a *Agent) error

	InsertOrganization(ctx context.Context, o *Organization) error
	UpdateOrganization(ctx context.Context, o *Organization) error
	DeleteOrganization(ctx context.Context, id string) error

	InsertTeam(ctx context.Context, t *Team) error
	UpdateTeam(ctx context.Context, t *Team) error
	DeleteTeam(ctx context.Context, id string) error

	InsertPrincipal(ctx context.Context, p *Principal) error
	UpdatePrincipal(ctx context.Context, p *Principal) error
	DeletePrincipal(ctx context.Context, id string) error

	InsertCustomField(ctx context.Context, f *CustomField) error
	UpdateCustomField(ctx context.Context, f *CustomField) error
	DeleteCustomField(ctx context.Context, id string) error

	// AppendAudit queues an event; the writer chains and stores it in this
	// transaction. DetailsJSON, when set, is stored and hashed as is (events
	// copied from another store keep their bytes); else Details is encoded.
	AppendAudit(ev AuditEvent)
}

// IntIDKeeper is implemented by both backends' transactions, for copies
// between stores (signet migrate) that must keep the integer ids the
// compatibility APIs show: Sectigo's sslId, orgId and department ids,
// Notary's certificate, request and CA ids. A client that stored one must
// find the same object after the move.
type IntIDKeeper interface {
	// KeepIntIDs makes this transaction's Insert* give a row the non-zero
	// IntID it carries instead of the next number.
	KeepIntIDs()
	// AdvanceIntIDs moves every id generator past the largest id stored and
	// past floors[table], the largest id the source ever gave (see
	// IntIDHistory): rows numbered later neither collide with kept ones nor
	// take the id of a row the source deleted.
	AdvanceIntIDs(ctx context.Context, floors map[string]int64) error
}

// IntIDTables are the tables whose integer ids a copy keeps; both backends
// name them alike.
var IntIDTables = []string{"organizations", "teams", "principals", "custom_fields", "api_keys", "cas", "templates",
	"profiles", "requests", "certificates", "notification_rules"}

// IntIDHistory is implemented by both backends' stores: per table whose
// integer ids a copy keeps, the largest id the store has ever given,
// deleted rows included.
type IntIDHistory interface {
	IntIDFloors(ctx context.Context) (map[string]int64, error)
}

// Store is a whole backend.
type Store interface {
	Reader
	// Update runs fn inside the writer's current batch transaction. If fn returns an
	// error its writes (and audit events) are rolled back alone and Update returns
	// that error; otherwise Update returns once the batch is durably committed.
	// fn may be called more than once if the batch must be retried, so it must not
	// have side effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Insert is Update for a function that only inserts rows under new keys
	// and relies on nothing it reads: a unique-key conflict is its only
	// contact with other writers. Several nodes on one database run such
	// functions concurrently, where Update functions are serialized (a
	// function that checks a row and then writes depends on that order).
	Insert(ctx context.Context, fn func(tx Tx) error) error
	// TouchAPIKey records last use without going through the audit chain; it may be lossy.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
	Close() error
}
