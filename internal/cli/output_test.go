package cli

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	enroll := `{"request":{"id":"req_1","status":"issued"},"certificate":{"serial":"ab","status":"active",` +
		`"common_name":"a.example","sans":["a.example","b.example"],"certificate_pem":"LEAF\n"},"chain_pem":"ISSUING\nROOT\n"}`
	list := `{"items":[{"serial":"01","common_name":"a","sans":[],"status":"active","certificate_pem":"A\n","not_after":"2027-01-02T03:04:05.123456Z"},` +
		`{"serial":"02","common_name":"b\tc","sans":["x","y"],"status":"revoked","certificate_pem":"B"}],"next_cursor":"cur","total":2}`
	tests := []struct {
		name, output, raw string
		v                 view
		want              string
	}{
		{"pem leaf before chain", outPEM, enroll, enrollView, "LEAF\nISSUING\nROOT\n"},
		{"pem of a list in order", outPEM, list, certView, "A\nB\n"},
		{"json is indented as sent", outJSON, `{"b":1,"a":[1.50]}`, certView, "{\n  \"b\": 1,\n  \"a\": [\n    1.50\n  ]\n}\n"},
		{"detail", outTable, enroll, enrollView,
			"REQUEST         req_1\nREQUEST STATUS  issued\nSERIAL          ab\nSTATUS          active\n" +
				"COMMON NAME     a.example\nSANS            a.example,b.example\nNOT AFTER       -\n"},
		{"list", outTable, list, view{cols: []column{{"SERIAL", "serial"}, {"CN", "common_name"}, {"SANS", "sans"}, {"NOT AFTER", "not_after"}}},
			"SERIAL  CN   SANS  NOT AFTER\n01      a    -     2027-01-02T03:04:05Z\n02      b c  x,y   -\ntotal: 2\nmore: --cursor cur (or --all)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := render(&b, tc.output, []byte(tc.raw), tc.v); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
	var b strings.Builder
	if err := render(&b, outPEM, []byte(`{"id":"p"}`), profileView); err == nil || ExitCode(err) != 2 {
		t.Errorf("-o pem of a profile: %v", err)
	}
}
