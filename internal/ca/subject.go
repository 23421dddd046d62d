package ca

import (
	"crypto/x509/pkix"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// Subject is a distinguished name as APIs accept it.
type Subject struct {
	CommonName         string   `json:"common_name,omitempty"`
	Organization       []string `json:"organization,omitempty"`
	OrganizationalUnit []string `json:"organizational_unit,omitempty"`
	Country            []string `json:"country,omitempty"`
	Province           []string `json:"province,omitempty"`
	Locality           []string `json:"locality,omitempty"`
	StreetAddress      []string `json:"street_address,omitempty"`
	PostalCode         []string `json:"postal_code,omitempty"`
	SerialNumber       string   `json:"serial_number,omitempty"`
}

// PKIX converts s to a pkix.Name.
func (s Subject) PKIX() pkix.Name {
	return pkix.Name{
		CommonName: s.CommonName, Organization: s.Organization, OrganizationalUnit: s.OrganizationalUnit,
		Country: s.Country, Province: s.Province, Locality: s.Locality,
		StreetAddress: s.StreetAddress, PostalCode: s.PostalCode, SerialNumber: s.SerialNumber,
	}
}

// IsZero reports whether no field is set.
func (s Subject) IsZero() bool {
	return s.CommonName == "" && len(s.Organization)+len(s.OrganizationalUnit)+len(s.Country)+
		len(s.Province)+len(s.Locality)+len(s.StreetAddress)+len(s.PostalCode) == 0 && s.SerialNumber == ""
}

// Validate rejects values that cannot be encoded sensibly.
func (s Subject) Validate(field string) error {
	var vs []problem.Violation
	check := func(name, v string, max int) {
		if len(v) > max {
			vs = append(vs, problem.Violation{Field: field + "." + name, Code: "too_long",
				Message: name + " is longer than the X.520 upper bound"})
		}
		if strings.ContainsAny(v, "\x00\n\r") {
			vs = append(vs, problem.Violation{Field: field + "." + name, Code: "invalid_character",
				Message: name + " contains control characters"})
		}
	}
	check("common_name", s.CommonName, 64)
	for name, vals := range map[string][]string{"organization": s.Organization, "organizational_unit": s.OrganizationalUnit,
		"province": s.Province, "locality": s.Locality, "street_address": s.StreetAddress, "postal_code": s.PostalCode} {
		for _, v := range vals {
			check(name, v, 128)
		}
	}
	for _, c := range s.Country {
		if len(c) != 2 {
			vs = append(vs, problem.Violation{Field: field + ".country", Code: "invalid_country",
				Message: "country must be a two-letter ISO 3166 code"})
		}
	}
	if len(vs) > 0 {
		return problem.Violations("subject_invalid", "the subject is invalid", vs)
	}
	return nil
}
