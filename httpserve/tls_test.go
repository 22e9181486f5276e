package httpserve

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	garbage := writeFile(t, dir, "garbage.pem", []byte("not a certificate"))
	missing := filepath.Join(dir, "missing.pem")
	fx := newServingFixture(t)
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings: the field and, where relevant, the file
	}{
		{"missing client CA file", Config{ClientCAFile: missing}, []string{"ClientCAFile", missing}},
		{"unparsable client CA file", Config{ClientCAFile: garbage}, []string{"ClientCAFile", garbage}},
		{"unparsable client CA data", Config{ClientCA: []byte("junk")}, []string{"ClientCA:"}},
		{"missing request-header CA file", Config{RequestHeader: RequestHeaderConfig{ClientCAFile: missing}}, []string{"RequestHeader.ClientCAFile", missing}},
		{"client CA file and data", Config{ClientCAFile: garbage, ClientCA: []byte("x")}, []string{"ClientCAFile/ClientCA"}},
		{"bind address not an IP", Config{BindAddress: "localhost"}, []string{"BindAddress"}},
		{"port out of range", Config{Port: 70000}, []string{"Port"}},
		{"negative port", Config{Port: -1}, []string{"Port"}},
		{"cert without key", Config{Port: 1, CertFile: fx.certFile}, []string{"CertFile/KeyFile"}},
		{"unreadable serving cert", Config{Port: 1, CertFile: missing, KeyFile: fx.keyFile}, []string{"CertFile/KeyFile", missing}},
		{"unknown TLS version", Config{MinTLSVersion: "VersionTLS14"}, []string{"MinTLSVersion", "VersionTLS14"}},
		{"unknown cipher suite", Config{CipherSuites: []string{"TLS_AES_128_GCM_SHA256", "TLS_BOGUS"}}, []string{"CipherSuites", "TLS_BOGUS"}},
		{"unsupported curve", Config{CurvePreferences: []int32{12345}}, []string{"CurvePreferences", "12345"}},
		{"duplicate curve", Config{CurvePreferences: []int32{29, 29}}, []string{"CurvePreferences", "twice"}},
		{"star inside an always-allowed path", Config{AlwaysAllowPaths: []string{"/a*/b"}}, []string{"AlwaysAllowPaths"}},
		{"blank header name", Config{RequestHeader: RequestHeaderConfig{GroupHeaders: []string{" "}}}, []string{"RequestHeader.GroupHeaders"}},
		{"UID headers without the standard one", Config{RequestHeader: RequestHeaderConfig{UIDHeaders: []string{"X-Uid"}}}, []string{"RequestHeader.UIDHeaders"}},
		{"negative TTL", Config{DenyCacheTTL: -time.Second}, []string{"DenyCacheTTL"}},
		{"several problems at once", Config{Port: -5, BindAddress: "x"}, []string{"Port", "BindAddress"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = quietLogger()
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestSelfSignedCertificate(t *testing.T) {
	dir := t.TempDir()
	certPath := filepath.Join(dir, "kube-scheduler.crt")
	keyPath := filepath.Join(dir, "kube-scheduler.key")
	newWithCertDir := func() *Server {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return mustNew(t, Config{CertDir: dir, Listener: ln})
	}

	first := newWithCertDir()
	written, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatalf("self-signed certificate not written: %v", err)
	}
	if info, err := os.Stat(keyPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	served := first.tls.Certificates[0].Certificate[0]
	block, _ := pem.Decode(written)
	if block == nil || !bytes.Equal(block.Bytes, served) {
		t.Fatal("served certificate is not the one written to CertDir")
	}
	c, err := x509.ParseCertificate(served)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.DNSNames, "localhost") || !slices.ContainsFunc(c.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("127.0.0.1")) }) {
		t.Errorf("certificate names DNS %v IPs %v, want localhost and 127.0.0.1", c.DNSNames, c.IPAddresses)
	}

	second := newWithCertDir()
	if !bytes.Equal(second.tls.Certificates[0].Certificate[0], served) {
		t.Error("second New generated a new certificate instead of reusing CertDir's")
	}

	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := New(Config{CertDir: dir, Listener: ln, Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), "CertDir") {
		t.Errorf("New with only the certificate in CertDir = %v, want a CertDir error", err)
	}
}

func TestSelfSignedCertificateForSpecificBindAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := mustNew(t, Config{BindAddress: "10.1.2.3", Listener: ln})
	c, err := x509.ParseCertificate(s.tls.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(c.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("10.1.2.3")) }) {
		t.Errorf("certificate IPs %v do not include the bind address", c.IPAddresses)
	}
}

func TestServingDisabledLoadsNoCertificate(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, Config{CertDir: dir})
	if s.tls != nil {
		t.Error("TLS configured although Port is 0")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("CertDir has %d files, want none", len(entries))
	}
}

func TestTLSSettings(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantMin    uint16
		wantSuites []uint16
		wantAuth   tls.ClientAuthType
	}{
		{"defaults", Config{}, tls.VersionTLS12, nil, tls.NoClientCert},
		{"TLS 1.3 minimum", Config{MinTLSVersion: "VersionTLS13"}, tls.VersionTLS13, nil, tls.NoClientCert},
		{
			"cipher names, including the legacy chacha alias",
			Config{CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"}},
			tls.VersionTLS12,
			[]uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
			tls.NoClientCert,
		},
		{"client CA requests certificates", Config{ClientCA: newTestCA(t, "ca").pem}, tls.VersionTLS12, nil, tls.RequestClientCert},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tlsConfig(&tc.cfg, caPoolFor(t, tc.cfg), quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tc.wantMin || !slices.Equal(cfg.CipherSuites, tc.wantSuites) || cfg.ClientAuth != tc.wantAuth {
				t.Errorf("got min %x suites %v auth %v, want %x %v %v", cfg.MinVersion, cfg.CipherSuites, cfg.ClientAuth, tc.wantMin, tc.wantSuites, tc.wantAuth)
			}
		})
	}
}

func caPoolFor(t *testing.T, cfg Config) *x509.CertPool {
	certs, err := loadCAs("ClientCA", "", cfg.ClientCA)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) == 0 {
		return nil
	}
	return poolOf(certs)
}
