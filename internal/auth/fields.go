package auth

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// Custom field types.
var fieldTypes = []string{"string", "number", "boolean", "date"}

var attrKeyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,62}$`)

// NewCustomField is a field definition a caller asks for.
type NewCustomField struct {
	Org           string
	Name          string
	Type          string
	Required      bool
	AllowedValues []string
}

// CreateCustomField defines a certificate attribute for an organization.
func (d *Directory) CreateCustomField(ctx context.Context, in NewCustomField) (*store.CustomField, error) {
	caller, err := Require(ctx, PermFieldManage)
	if err != nil {
		return nil, err
	}
	orgID, err := d.TargetOrg(ctx, caller, in.Org)
	if err != nil {
		return nil, err
	}
	if !attrKeyPattern.MatchString(in.Name) {
		return nil, problem.Invalid("custom_field_name_invalid", "field name %q must start with a letter and use letters, digits, _ . - (at most 63)", in.Name)
	}
	if in.Type == "" {
		in.Type = "string"
	}
	if !slices.Contains(fieldTypes, in.Type) {
		return nil, problem.Invalid("custom_field_type_invalid", "type must be one of %v", fieldTypes)
	}
	f := &store.CustomField{ID: store.NewID("cf"), OrgID: orgID, Name: in.Name, Type: in.Type, Required: in.Required,
		AllowedValues: in.AllowedValues, CreatedAt: d.now(), UpdatedAt: d.now()}
	for _, v := range in.AllowedValues {
		if err := checkFieldValue(f, v); err != nil {
			return nil, err
		}
	}
	defer d.fields.forget(orgID)
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertCustomField(ctx, f); err != nil {
			return duplicate(err, "custom_field_exists", "organization %s already has a field %q", orgID, in.Name)
		}
		tx.AppendAudit(caller.Event(f.CreatedAt, orgID, "custom_field.create", "custom_field", f.ID,
			map[string]any{"name": f.Name, "type": f.Type, "required": f.Required}))
		return nil
	})
	return f, err
}

// ListCustomFields lists an organization's field definitions.
func (d *Directory) ListCustomFields(ctx context.Context, org string) ([]store.CustomField, error) {
	p, err := Require(ctx, PermOrgRead)
	if err != nil {
		return nil, err
	}
	orgID, err := d.TargetOrg(ctx, p, org)
	if err != nil {
		return nil, err
	}
	return d.store.ListCustomFields(ctx, orgID)
}

// DeleteCustomField removes a definition; values on certificates stay.
func (d *Directory) DeleteCustomField(ctx context.Context, org, id string) error {
	caller, err := Require(ctx, PermFieldManage)
	if err != nil {
		return err
	}
	orgID, err := d.TargetOrg(ctx, caller, org)
	if err != nil {
		return err
	}
	fields, err := d.store.ListCustomFields(ctx, orgID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(fields, func(f store.CustomField) bool { return f.ID == id || f.Name == id })
	if i < 0 {
		return problem.NotFound("custom_field_not_found", "organization %s has no field %q", orgID, id)
	}
	f := fields[i]
	defer d.fields.forget(orgID)
	return d.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteCustomField(ctx, f.ID); err != nil {
			return notFound(err, "custom_field_not_found", "no field %q", id)
		}
		tx.AppendAudit(caller.Event(d.now(), orgID, "custom_field.delete", "custom_field", f.ID, map[string]any{"name": f.Name}))
		return nil
	})
}

// CheckAttributes validates labels and custom field values for a
// certificate of organization orgID. With complete set, every required
// field must be present (enrollment); otherwise only the given ones are
// checked (a later update). Every problem is reported at once.
func (d *Directory) CheckAttributes(ctx context.Context, orgID string, labels, values map[string]string, complete bool) error {
	var vs []problem.Violation
	if len(labels) > 50 {
		vs = append(vs, problem.Violation{Field: "labels", Code: "too_many_labels", Message: "at most 50 labels"})
	}
	for k, v := range labels {
		if !attrKeyPattern.MatchString(k) || len(v) > 256 {
			vs = append(vs, problem.Violation{Field: "labels." + k, Code: "label_invalid",
				Message: "label keys start with a letter and use letters, digits, _ . - (at most 63); values at most 256 bytes"})
		}
	}
	fields, err := d.fields.get(ctx, d.store, orgID, d.now())
	if err != nil {
		return err
	}
	for name, v := range values {
		i := slices.IndexFunc(fields, func(f store.CustomField) bool { return f.Name == name })
		if i < 0 {
			vs = append(vs, problem.Violation{Field: "custom_fields." + name, Code: "custom_field_unknown", Message: "the organization defines no such field"})
			continue
		}
		if err := checkFieldValue(&fields[i], v); err != nil {
			vs = append(vs, problem.Violation{Field: "custom_fields." + name, Code: "custom_field_value_invalid", Message: problem.As(err).Message})
		}
	}
	if complete {
		for _, f := range fields {
			if _, ok := values[f.Name]; f.Required && !ok {
				vs = append(vs, problem.Violation{Field: "custom_fields." + f.Name, Code: "custom_field_required", Message: "this field is required"})
			}
		}
	}
	if len(vs) > 0 {
		return problem.Violations("attributes_invalid", "labels or custom fields are invalid", vs)
	}
	return nil
}

// fieldTTL bounds how long a node enforces definitions changed on another
// node; changes made through this node apply at once. The same bound as
// profile resolution (internal/profile): both are read on every enrollment.
const fieldTTL = 2 * time.Second

type fieldCache struct {
	mu   sync.Mutex
	orgs map[string]cachedFields
}

type cachedFields struct {
	fields []store.CustomField
	at     time.Time
}

func (c *fieldCache) get(ctx context.Context, s DirectoryStore, orgID string, now time.Time) ([]store.CustomField, error) {
	c.mu.Lock()
	hit, ok := c.orgs[orgID]
	c.mu.Unlock()
	if ok && now.Sub(hit.at) < fieldTTL && !now.Before(hit.at) {
		return hit.fields, nil
	}
	fields, err := s.ListCustomFields(ctx, orgID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.orgs == nil {
		c.orgs = map[string]cachedFields{}
	}
	c.orgs[orgID] = cachedFields{fields: fields, at: now}
	c.mu.Unlock()
	return fields, nil
}

func (c *fieldCache) forget(orgID string) {
	c.mu.Lock()
	delete(c.orgs, orgID)
	c.mu.Unlock()
}

func checkFieldValue(f *store.CustomField, v string) error {
	var ok bool
	switch f.Type {
	case "number":
		_, err := strconv.ParseFloat(v, 64)
		ok = err == nil
	case "boolean":
		ok = v == "true" || v == "false"
	case "date":
		_, err := time.Parse(time.DateOnly, v)
		ok = err == nil
	default:
		ok = len(v) <= 256
	}
	if !ok {
		return problem.Invalid("custom_field_value_invalid", "value %q is not a valid %s for field %s", v, f.Type, f.Name)
	}
	if len(f.AllowedValues) > 0 && !slices.Contains(f.AllowedValues, v) {
		return problem.Invalid("custom_field_value_invalid", "value %q is not allowed for field %s (allowed: %v)", v, f.Name, f.AllowedValues)
	}
	return nil
}

// CheckOwner verifies that owner is a principal or a team of organization
// orgID (global principals may own certificates anywhere).
func (d *Directory) CheckOwner(ctx context.Context, orgID, owner string) error {
	if strings.HasPrefix(owner, "team_") {
		tm, err := d.store.GetTeam(ctx, owner)
		if err == nil && tm.OrgID == orgID {
			return nil
		}
		return problem.Invalid("owner_invalid", "owner %q is not a team of organization %s", owner, orgID)
	}
	p, err := d.store.GetPrincipal(ctx, owner)
	if err == nil && (p.OrgID == orgID || p.OrgID == "") {
		return nil
	}
	return problem.Invalid("owner_invalid", "owner %q is not a principal of organization %s", owner, orgID)
}
