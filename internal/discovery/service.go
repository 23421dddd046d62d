package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// DefaultPorts are probed when a scan names none: HTTPS, alternative
// HTTPS, LDAPS, IMAPS, POP3S, SMTPS and SMTP submission with STARTTLS.
var DefaultPorts = []int{443, 8443, 636, 993, 995, 465, 587}

// Store is what the discovery service reads and writes.
type Store interface {
	auth.OrgLookup
	GetEndpoint(ctx context.Context, id string) (*store.Endpoint, error)
	ListEndpoints(ctx context.Context, q store.EndpointQuery) ([]store.Endpoint, string, error)
	Update(ctx context.Context, fn func(tx store.Tx) error) error
}

// Importer records a served certificate in the inventory (issuance).
type Importer interface {
	ImportDiscovered(ctx context.Context, orgID string, der []byte) (*store.Certificate, error)
}

// Config bounds what scans may do. Zero values take the defaults.
type Config struct {
	Allowed     []netip.Prefix // networks scans may touch; none = scanning is off
	MaxProbes   int            // endpoints per scan (default 4096)
	Concurrency int            // endpoints probed at once (default 8)
	Rate        float64        // new endpoints per second (default 50)
	JobTimeout  time.Duration  // a whole scan (default 10 min)
	Logger      *slog.Logger
	Prober      *Prober
	Now         func() time.Time
}

// Service runs scans and records what they find.
type Service struct {
	store    Store
	importer Importer
	cfg      Config
	mu       sync.Mutex
	jobs     map[string]*Job // this node's scans, newest kept
}

// NewService returns the discovery service.
func NewService(st Store, importer Importer, cfg Config) *Service {
	if cfg.MaxProbes <= 0 {
		cfg.MaxProbes = 4096
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 50
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Prober == nil {
		cfg.Prober = &Prober{Now: cfg.Now}
	}
	return &Service{store: st, importer: importer, cfg: cfg, jobs: map[string]*Job{}}
}

// ScanRequest names what to scan: host names, IP addresses and CIDR ranges,
// on Ports (DefaultPorts when empty).
type ScanRequest struct {
	Org         string   `json:"org,omitempty"`
	Targets     []string `json:"targets"`
	Ports       []int    `json:"ports,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
	Rate        float64  `json:"rate_per_second,omitempty"`
}

// Job is a scan's progress and outcome.
type Job struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	Status    string    `json:"status"` // running | done
	Total     int       `json:"total"`
	Done      int       `json:"done"`
	Reachable int       `json:"reachable"`
	Imported  int       `json:"certificates"`
	Endpoints []string  `json:"endpoint_ids"`
	Errors    []string  `json:"errors,omitempty"`
	Started   time.Time `json:"started_at"`
	Finished  time.Time `json:"finished_at,omitzero"`
}

// StartScan checks and expands the request, then scans in the background.
func (s *Service) StartScan(ctx context.Context, req ScanRequest) (*Job, error) {
	caller, err := auth.Require(ctx, auth.PermDiscovery)
	if err != nil {
		return nil, err
	}
	orgID, err := auth.TargetOrg(ctx, s.store, caller, req.Org)
	if err != nil {
		return nil, err
	}
	if _, err := auth.RequireIn(ctx, auth.PermDiscovery, orgID); err != nil {
		return nil, err
	}
	endpoints, err := s.expand(ctx, req)
	if err != nil {
		return nil, err
	}
	job := &Job{ID: store.NewID("scan"), OrgID: orgID, Status: "running", Total: len(endpoints), Started: s.cfg.Now(),
		Endpoints: []string{}}
	s.mu.Lock()
	if len(s.jobs) > 100 {
		for id, j := range s.jobs {
			if j.Status == "done" {
				delete(s.jobs, id)
			}
		}
	}
	s.jobs[job.ID] = job
	s.mu.Unlock()
	concurrency, rate := s.cfg.Concurrency, s.cfg.Rate
	if req.Concurrency > 0 && req.Concurrency < concurrency {
		concurrency = req.Concurrency
	}
	if req.Rate > 0 && req.Rate < rate {
		rate = req.Rate
	}
	// The scan outlives the request that started it, but not the job timeout.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.JobTimeout)
	go func() {
		defer cancel()
		s.run(bg, job, endpoints, concurrency, rate)
	}()
	return s.snapshot(job), nil
}

// Job returns a scan's progress, to the organization that started it.
func (s *Service) Job(ctx context.Context, id string) (*Job, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	job := s.jobs[id]
	s.mu.Unlock()
	if job == nil {
		return nil, problem.NotFound("scan_not_found", "no scan %q on this node", id)
	}
	if !p.InOrg(job.OrgID) {
		return nil, problem.Forbidden("other_organization", "scan %s belongs to another organization", id)
	}
	return s.snapshot(job), nil
}

func (s *Service) snapshot(j *Job) *Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *j
	c.Endpoints = append([]string(nil), j.Endpoints...)
	c.Errors = append([]string(nil), j.Errors...)
	return &c
}

// Endpoints lists scanned endpoints the caller may see.
func (s *Service) Endpoints(ctx context.Context, q store.EndpointQuery) ([]store.Endpoint, string, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, "", err
	}
	if q.OrgID, err = auth.ScopeOrg(ctx, s.store, p, q.OrgID); err != nil {
		return nil, "", err
	}
	return s.store.ListEndpoints(ctx, q)
}

// Endpoint returns one scanned endpoint.
func (s *Service) Endpoint(ctx context.Context, id string) (*store.Endpoint, error) {
	p, err := auth.Require(ctx, auth.PermCertRead)
	if err != nil {
		return nil, err
	}
	e, err := s.store.GetEndpoint(ctx, id)
	if err != nil {
		return nil, problem.NotFound("endpoint_not_found", "no endpoint %q", id)
	}
	if !p.InOrg(e.OrgID) {
		return nil, problem.Forbidden("other_organization", "endpoint %s belongs to another organization", id)
	}
	return e, nil
}

// expand turns targets into endpoints, refusing anything outside the
// allowed networks before a single packet is sent.
func (s *Service) expand(ctx context.Context, req ScanRequest) ([]Endpoint, error) {
	if len(s.cfg.Allowed) == 0 {
		return nil, problem.Forbidden("discovery_not_allowed", "no network is open to scanning: an administrator sets discovery_allowed_networks")
	}
	if len(req.Targets) == 0 {
		return nil, problem.Invalid("targets_required", "name at least one host, address or CIDR range")
	}
	ports := req.Ports
	if len(ports) == 0 {
		ports = DefaultPorts
	}
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return nil, problem.Invalid("port_invalid", "port %d is not between 1 and 65535", p)
		}
	}
	var hosts []Endpoint // Host + ServerName, ports added below
	for _, t := range req.Targets {
		t = strings.TrimSpace(t)
		switch {
		case strings.Contains(t, "/"):
			prefix, err := netip.ParsePrefix(t)
			if err != nil {
				return nil, problem.Invalid("target_invalid", "%q is not a CIDR range", t)
			}
			for a := prefix.Masked().Addr(); prefix.Contains(a); a = a.Next() {
				if err := s.allowed(a, t); err != nil {
					return nil, err
				}
				hosts = append(hosts, Endpoint{Host: a.String()})
				if len(hosts)*len(ports) > s.cfg.MaxProbes {
					return nil, problem.Invalid("scan_too_large", "the scan exceeds %d endpoints", s.cfg.MaxProbes)
				}
			}
		default:
			if a, err := netip.ParseAddr(t); err == nil {
				if err := s.allowed(a, t); err != nil {
					return nil, err
				}
				hosts = append(hosts, Endpoint{Host: a.String()})
				continue
			}
			addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t)
			if err != nil || len(addrs) == 0 {
				return nil, problem.Invalid("target_unresolvable", "%q does not resolve", t)
			}
			for _, a := range addrs {
				if err := s.allowed(a.Unmap(), t); err != nil {
					return nil, err
				}
			}
			hosts = append(hosts, Endpoint{Host: t, ServerName: t})
		}
	}
	var out []Endpoint
	for _, h := range hosts {
		for _, p := range ports {
			h.Port = p
			out = append(out, h)
		}
	}
	if len(out) > s.cfg.MaxProbes {
		return nil, problem.Invalid("scan_too_large", "the scan exceeds %d endpoints", s.cfg.MaxProbes)
	}
	return out, nil
}

func (s *Service) allowed(a netip.Addr, target string) error {
	for _, p := range s.cfg.Allowed {
		if p.Contains(a.Unmap()) {
			return nil
		}
	}
	return problem.Forbidden("target_not_allowed", "%s (%s) is outside the networks open to scanning", target, a)
}

// run probes every endpoint, at most concurrency at once and rate new ones a second.
func (s *Service) run(ctx context.Context, job *Job, endpoints []Endpoint, concurrency int, rate float64) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, e := range endpoints {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.scanOne(ctx, job, e)
		}()
	}
	wg.Wait()
	s.mu.Lock()
	job.Status, job.Finished = "done", s.cfg.Now()
	if ctx.Err() != nil {
		job.Errors = append(job.Errors, "the scan stopped early: "+ctx.Err().Error())
	}
	s.mu.Unlock()
}

// Record is what an endpoint row stores as its rating.
type Record struct {
	Rating      Rating       `json:"rating"`
	Observation *Observation `json:"observation"`
}

func (s *Service) scanOne(ctx context.Context, job *Job, e Endpoint) {
	o := s.cfg.Prober.Probe(ctx, e)
	now := s.cfg.Now()
	r := Rate(o, now)
	rec := &store.Endpoint{ID: store.NewID("ep"), OrgID: job.OrgID, Host: e.Host, Port: e.Port, ServerName: e.ServerName,
		Grade: r.Grade, Error: o.Error, FirstSeen: now, LastScan: now}
	imported := false
	if o.Reachable && len(o.ChainDER) > 0 {
		rec.LastSeen = now
		c, err := s.importer.ImportDiscovered(ctx, job.OrgID, o.ChainDER[0])
		if err != nil {
			s.note(job, fmt.Sprintf("%s: record certificate: %v", e, err))
		} else {
			rec.CertSHA256, imported = c.SHA256, c.Source == store.SourceDiscovered
		}
	}
	if !o.Reachable && isRefused(o.Error) {
		// Nothing listens: not an endpoint, and not worth a row.
		s.progress(job, "", false, false)
		return
	}
	rec.Rating, _ = json.Marshal(Record{Rating: r, Observation: o})
	if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.UpsertEndpoint(ctx, rec) }); err != nil {
		s.note(job, fmt.Sprintf("%s: record endpoint: %v", e, err))
	}
	s.progress(job, rec.ID, o.Reachable, imported)
}

func isRefused(msg string) bool {
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "no route to host")
}

func (s *Service) progress(job *Job, id string, reachable, imported bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	job.Done++
	if id != "" {
		job.Endpoints = append(job.Endpoints, id)
	}
	if reachable {
		job.Reachable++
	}
	if imported {
		job.Imported++
	}
}

func (s *Service) note(job *Job, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(job.Errors) < 100 {
		job.Errors = append(job.Errors, msg)
	}
}

// ParseAllowed reads discovery_allowed_networks entries (CIDRs or addresses).
func ParseAllowed(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("discovery_allowed_networks: %q is neither a CIDR range nor an address", e)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Schedule is a scan the leader repeats.
type Schedule struct {
	Name  string
	Every time.Duration
	Scan  ScanRequest
}

// RunSchedules starts each scheduled scan whenever its period has passed,
// while this node leads, until ctx ends. Scans run as the system principal
// in the schedule's organization.
func (s *Service) RunSchedules(ctx context.Context, leader func() bool, schedules []Schedule) {
	if len(schedules) == 0 {
		return
	}
	last := make([]time.Time, len(schedules))
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	ctx = auth.WithPrincipal(ctx, auth.System())
	for {
		if leader() {
			now := s.cfg.Now()
			for i, sc := range schedules {
				if !last[i].IsZero() && now.Sub(last[i]) < sc.Every {
					continue
				}
				last[i] = now
				if _, err := s.StartScan(ctx, sc.Scan); err != nil {
					s.cfg.Logger.WarnContext(ctx, "scheduled scan refused", "schedule", sc.Name, "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
