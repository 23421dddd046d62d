// Package config is Signet's server configuration: an optional YAML file,
// overridden by SIGNET_* environment variables, overridden by flags, with
// defaults that make `signet serve` work with no configuration at all.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is everything `signet serve` needs.
type Config struct {
	DataDir      string `yaml:"data_dir"`
	Listen       string `yaml:"listen"`
	InsecureHTTP bool   `yaml:"insecure_http"` // plain HTTP, for use behind a TLS proxy and in tests
	PublicURL    string `yaml:"public_url"`    // how clients reach this server; defaults from Listen
	// Database is a PostgreSQL URL (postgres://...) for several nodes; empty
	// means SQLite in DataDir. Prefer SIGNET_DATABASE when it holds a password.
	Database    string `yaml:"database"`
	OCSPSigning string `yaml:"ocsp_signing"` // ca | delegated (a short-lived responder certificate per CA)
	// CRL publication; zero values take the revocation service's defaults
	// (24 h validity, hourly regeneration, 7 days of grace for expired entries).
	CRLValidity     time.Duration `yaml:"crl_validity"`
	CRLInterval     time.Duration `yaml:"crl_interval"`
	CRLExpiredGrace time.Duration `yaml:"crl_expired_grace"`
	// OCSPCacheSize bounds the pre-signed OCSP responses kept per node
	// (0: the default, 100,000; negative: no cache, every answer signed anew).
	OCSPCacheSize int `yaml:"ocsp_cache_size"`
	// DiscoveryAllowedNetworks are the CIDR ranges discovery scans may touch
	// (none: scanning is off). SIGNET_DISCOVERY_ALLOWED_NETWORKS, comma-separated.
	DiscoveryAllowedNetworks []string `yaml:"discovery_allowed_networks"`
	// AutoRenew renews, per profile, certificates whose key the server
	// generated, DaysBefore their expiry, for the same key.
	AutoRenew []AutoRenew `yaml:"auto_renew"`
	// DiscoverySchedules are scans the leader repeats.
	DiscoverySchedules []DiscoverySchedule `yaml:"discovery_schedules"`
	// SMTP is the relay notifications are mailed through (password: SIGNET_SMTP_PASSWORD).
	SMTP SMTP `yaml:"smtp"`
	ACME ACME `yaml:"acme"` // how the ACME server validates challenges
	// DCV is how domain control validation (internal/domain) reaches domains.
	DCV       DCV    `yaml:"dcv"`
	LogLevel  string `yaml:"log_level"`  // debug | info | warn | error
	LogFormat string `yaml:"log_format"` // text | json
	// CompatListeners serve a compatibility API at the root of a listener of
	// its own, for clients whose paths cannot take the /compat/{name} prefix.
	CompatListeners []CompatListener `yaml:"compat_listeners"`

	// Secrets come from the environment only, never from the file or flags
	// (flags show up in process listings).
	KeyPassphrase string `yaml:"-"` // SIGNET_KEY_PASSPHRASE; else a key file in DataDir
	AdminAPIKey   string `yaml:"-"` // SIGNET_ADMIN_API_KEY, used on first start only
	AdminPassword string `yaml:"-"` // SIGNET_ADMIN_PASSWORD: the admin user's web UI password, first start only
}

// CompatListener gives a compatibility API ("notary", "digicert",
// "infisical", "sectigo") its own address. It uses TLS like the main listener
// unless insecure_http is set.
type CompatListener struct {
	API    string `yaml:"api"`
	Listen string `yaml:"listen"`
}

// AutoRenew is one profile's server-side renewal policy.
type AutoRenew struct {
	Profile    string `yaml:"profile"`
	DaysBefore int    `yaml:"days_before"`
}

// DiscoverySchedule is a scan repeated every Every.
type DiscoverySchedule struct {
	Name    string        `yaml:"name"`
	Org     string        `yaml:"org"`
	Targets []string      `yaml:"targets"`
	Ports   []int         `yaml:"ports"`
	Every   time.Duration `yaml:"every"`
}

// SMTP is the mail relay for notifications.
type SMTP struct {
	Host               string `yaml:"host"`
	Port               int    `yaml:"port"` // default 587
	From               string `yaml:"from"`
	Username           string `yaml:"username"`
	Password           string `yaml:"-"` // SIGNET_SMTP_PASSWORD only
	StartTLS           bool   `yaml:"starttls"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"` // test relays only
}

// Defaults returns the zero-configuration settings.
func Defaults() Config {
	return Config{DataDir: "signet-data", Listen: "127.0.0.1:8443", LogLevel: "info", LogFormat: "text"}
}

// LoadFile merges a YAML file into c. A missing path is an error; an empty path does nothing.
func (c *Config) LoadFile(path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if err := yaml.Unmarshal(b, c); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	return nil
}

// LoadEnv merges SIGNET_* variables into c.
func (c *Config) LoadEnv(getenv func(string) string) error {
	set := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set(&c.DataDir, "SIGNET_DATA_DIR")
	set(&c.Listen, "SIGNET_LISTEN")
	set(&c.PublicURL, "SIGNET_PUBLIC_URL")
	set(&c.Database, "SIGNET_DATABASE")
	set(&c.OCSPSigning, "SIGNET_OCSP_SIGNING")
	set(&c.SMTP.Host, "SIGNET_SMTP_HOST")
	set(&c.SMTP.From, "SIGNET_SMTP_FROM")
	set(&c.SMTP.Username, "SIGNET_SMTP_USERNAME")
	set(&c.SMTP.Password, "SIGNET_SMTP_PASSWORD")
	if v := getenv("SIGNET_DISCOVERY_ALLOWED_NETWORKS"); v != "" {
		c.DiscoveryAllowedNetworks = strings.Split(v, ",")
	}
	set(&c.LogLevel, "SIGNET_LOG_LEVEL")
	set(&c.LogFormat, "SIGNET_LOG_FORMAT")
	set(&c.KeyPassphrase, "SIGNET_KEY_PASSPHRASE")
	set(&c.AdminAPIKey, "SIGNET_ADMIN_API_KEY")
	set(&c.AdminPassword, "SIGNET_ADMIN_PASSWORD")
	set(&c.DCV.Resolver, "SIGNET_DCV_RESOLVER")
	if err := c.ACME.loadEnv(getenv); err != nil {
		return err
	}
	if v := getenv("SIGNET_INSECURE_HTTP"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("SIGNET_INSECURE_HTTP: %w", err)
		}
		c.InsecureHTTP = b
	}
	return nil
}

// Validate checks the settings and fills derived defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir is required"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: want host:port: %w", c.Listen, err))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel))
	}
	for _, n := range c.DiscoveryAllowedNetworks {
		if _, err := netip.ParsePrefix(strings.TrimSpace(n)); err != nil {
			if _, err := netip.ParseAddr(strings.TrimSpace(n)); err != nil {
				errs = append(errs, fmt.Errorf("discovery_allowed_networks: %q is neither a CIDR range nor an address", n))
			}
		}
	}
	if c.CRLValidity < 0 || c.CRLInterval < 0 || c.CRLExpiredGrace < 0 {
		errs = append(errs, errors.New("crl_validity, crl_interval and crl_expired_grace must not be negative"))
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		errs = append(errs, errors.New("database: want a postgres:// URL (leave it empty for SQLite in the data directory)"))
	}
	if c.OCSPSigning != "" && c.OCSPSigning != "ca" && c.OCSPSigning != "delegated" {
		errs = append(errs, fmt.Errorf("ocsp_signing %q: want ca or delegated", c.OCSPSigning))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log_format %q: want text or json", c.LogFormat))
	}
	errs = append(errs, c.ACME.validate()...)
	for _, l := range c.CompatListeners {
		if _, _, err := net.SplitHostPort(l.Listen); err != nil || l.API == "" {
			errs = append(errs, fmt.Errorf("compat_listeners: {api: %q, listen: %q}: want an API name and host:port", l.API, l.Listen))
		}
	}
	if c.AdminAPIKey != "" && len(c.AdminAPIKey) < 24 {
		errs = append(errs, errors.New("SIGNET_ADMIN_API_KEY must be at least 24 characters"))
	}
	if c.AdminPassword != "" && len([]rune(c.AdminPassword)) < 12 {
		errs = append(errs, errors.New("SIGNET_ADMIN_PASSWORD must be at least 12 characters"))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	c.DataDir = abs
	return nil
}

// DatabasePath is the SQLite file inside the data directory.
func (c *Config) DatabasePath() string { return filepath.Join(c.DataDir, "signet.db") }

// PassphrasePath is the generated key-encryption passphrase file, used when
// SIGNET_KEY_PASSPHRASE is not set.
func (c *Config) PassphrasePath() string { return filepath.Join(c.DataDir, "ca-passphrase") }

// DCV configures domain control validation: where HTTP(S) validation files
// are fetched (ports) and which DNS server answers TXT, CNAME and address
// lookups ("host:port"; empty: the system resolver).
type DCV struct {
	Resolver  string `yaml:"resolver"`
	HTTPPort  int    `yaml:"http_port"`  // default 80
	HTTPSPort int    `yaml:"https_port"` // default 443
}

// ACME configures challenge validation. Private networks and tests point it
// at their own ports, resolver and addresses, as Pebble allows.
type ACME struct {
	// HTTP01Port is the port http-01 challenges are fetched from (default 80).
	HTTP01Port int `yaml:"http01_port"`
	// TLSALPN01Port is the port tls-alpn-01 challenges connect to (default 443).
	TLSALPN01Port int `yaml:"tlsalpn01_port"`
	// DNSResolver (host:port) answers dns-01 TXT queries and the address
	// lookups of the other challenges; empty: the system resolver.
	DNSResolver string `yaml:"dns_resolver"`
	// Resolve pins names to addresses for http-01 and tls-alpn-01, as
	// "pattern=address" entries ("*.test=127.0.0.1"); "*" pins every name.
	Resolve []string `yaml:"resolve"`
}

// loadEnv reads SIGNET_ACME_HTTP01_PORT, SIGNET_ACME_TLSALPN01_PORT,
// SIGNET_ACME_DNS_RESOLVER and SIGNET_ACME_RESOLVE (comma-separated).
func (a *ACME) loadEnv(getenv func(string) string) error {
	ports := []struct {
		env string
		dst *int
	}{{"SIGNET_ACME_HTTP01_PORT", &a.HTTP01Port}, {"SIGNET_ACME_TLSALPN01_PORT", &a.TLSALPN01Port}}
	for _, p := range ports {
		if v := getenv(p.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s: %w", p.env, err)
			}
			*p.dst = n
		}
	}
	if v := getenv("SIGNET_ACME_DNS_RESOLVER"); v != "" {
		a.DNSResolver = v
	}
	if v := getenv("SIGNET_ACME_RESOLVE"); v != "" {
		a.Resolve = strings.Split(v, ",")
	}
	return nil
}

func (a *ACME) validate() []error {
	var errs []error
	for i, p := range []int{a.HTTP01Port, a.TLSALPN01Port} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s %d: want a port (1-65535, 0 for the default)", []string{"acme.http01_port", "acme.tlsalpn01_port"}[i], p))
		}
	}
	if a.DNSResolver != "" {
		if _, port, err := net.SplitHostPort(a.DNSResolver); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("acme.dns_resolver %q: want host:port", a.DNSResolver))
		}
	}
	for _, e := range a.Resolve {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		pattern, addr, ok := strings.Cut(e, "=")
		if _, err := netip.ParseAddr(strings.TrimSpace(addr)); !ok || err != nil || strings.TrimSpace(pattern) == "" {
			errs = append(errs, fmt.Errorf("acme.resolve %q: want name=address, as in *.test=127.0.0.1", e))
		}
	}
	return errs
}
