package httpserve

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// pairName is the file name stem of the self-signed pair in CertDir, as kube-scheduler names it.
const pairName = "kube-scheduler"

// loadServingCert returns the certificate to serve: the configured files, or a self-signed one.
func loadServingCert(c *Config, log *slog.Logger) (tls.Certificate, error) {
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("CertFile/KeyFile: loading %q and %q: %w", c.CertFile, c.KeyFile, err)
		}
		return cert, nil
	}
	certPEM, keyPEM, err := selfSignedPair(c, log)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("CertDir: parsing the self-signed pair: %w", err)
	}
	return cert, nil
}

// selfSignedPair reads the pair from CertDir if both files are readable, and otherwise generates a
// new CA-signed pair for localhost, writing it to CertDir when one is set. Exactly one readable
// file is an error, as upstream: the two must come as a pair.
func selfSignedPair(c *Config, log *slog.Logger) (certPEM, keyPEM []byte, err error) {
	var certPath, keyPath string
	if c.CertDir != "" {
		certPath = filepath.Join(c.CertDir, pairName+".crt")
		keyPath = filepath.Join(c.CertDir, pairName+".key")
		certPEM, certErr := os.ReadFile(certPath)
		keyPEM, keyErr := os.ReadFile(keyPath)
		switch {
		case certErr == nil && keyErr == nil:
			return certPEM, keyPEM, nil
		case certErr == nil:
			return nil, nil, fmt.Errorf("CertDir: %s is readable but %s is not (certificate and key come as a pair): %w", certPath, keyPath, keyErr)
		case keyErr == nil:
			return nil, nil, fmt.Errorf("CertDir: %s is readable but %s is not (certificate and key come as a pair): %w", keyPath, certPath, certErr)
		}
	}

	ips := []net.IP{net.ParseIP("127.0.0.1")}
	var dns []string
	if ip := net.ParseIP(c.BindAddress); ip == nil || ip.IsUnspecified() {
		dns = append(dns, "localhost")
	} else {
		ips = append(ips, ip)
	}
	certPEM, keyPEM, err = certutil.GenerateSelfSignedCertKey("localhost", ips, dns)
	if err != nil {
		return nil, nil, fmt.Errorf("generating a self-signed serving certificate: %w", err)
	}
	if certPath == "" {
		log.Info("Generated self-signed cert in-memory")
		return certPEM, keyPEM, nil
	}
	if err := certutil.WriteCert(certPath, certPEM); err != nil {
		return nil, nil, fmt.Errorf("CertDir: writing the self-signed certificate: %w", err)
	}
	if err := keyutil.WriteKey(keyPath, keyPEM); err != nil {
		return nil, nil, fmt.Errorf("CertDir: writing the self-signed key: %w", err)
	}
	log.Info("Generated self-signed cert", "cert", certPath, "key", keyPath)
	return certPEM, keyPEM, nil
}

// loadCAs parses a PEM CA bundle given as a file or as data; field names the Config field in
// errors. It returns nil when neither is set.
func loadCAs(field, file string, data []byte) ([]*x509.Certificate, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: reading %q: %w", field, file, err)
		}
		data = b
	} else if len(data) == 0 {
		return nil, nil
	}
	certs, err := certutil.ParseCertsPEM(data)
	if err != nil {
		if file != "" {
			return nil, fmt.Errorf("%s: parsing %q: %w", field, file, err)
		}
		return nil, fmt.Errorf("%s: parsing PEM data: %w", field, err)
	}
	return certs, nil
}

func poolOf(certs ...[]*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, list := range certs {
		for _, c := range list {
			pool.AddCert(c)
		}
	}
	return pool
}

var tlsVersions = map[string]uint16{
	"VersionTLS10": tls.VersionTLS10,
	"VersionTLS11": tls.VersionTLS11,
	"VersionTLS12": tls.VersionTLS12,
	"VersionTLS13": tls.VersionTLS13,
}

// cipherSuiteIDs maps every name --tls-cipher-suites accepts, insecure ones included, to its ID.
func cipherSuiteIDs() map[string]uint16 {
	ids := map[string]uint16{
		// Legacy names upstream still accepts.
		"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	for _, s := range slices.Concat(tls.CipherSuites(), tls.InsecureCipherSuites()) {
		ids[s.Name] = s.ID
	}
	return ids
}

// tlsConfig builds the server's TLS settings, without the certificate. Client certificates are requested but not required
// or verified here: the authenticators verify them against their own CA, so a request without a
// certificate can still use a token or be anonymous. clientCAs only advertises acceptable CAs.
func tlsConfig(c *Config, clientCAs *x509.CertPool, log *slog.Logger) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.MinTLSVersion != "" {
		v, ok := tlsVersions[c.MinTLSVersion]
		if !ok {
			return nil, fmt.Errorf("MinTLSVersion: unknown TLS version %q (want one of %s)", c.MinTLSVersion, strings.Join(sortedKeys(tlsVersions), ", "))
		}
		cfg.MinVersion = v
	}
	if len(c.CipherSuites) > 0 {
		ids := cipherSuiteIDs()
		insecure := map[uint16]bool{}
		for _, s := range tls.InsecureCipherSuites() {
			insecure[s.ID] = true
		}
		var errs []error
		for _, name := range c.CipherSuites {
			id, ok := ids[name]
			if !ok {
				errs = append(errs, fmt.Errorf("CipherSuites: cipher suite %q is not supported or does not exist", name))
				continue
			}
			if insecure[id] {
				log.Warn("Use of insecure cipher detected", "cipher", name)
			}
			cfg.CipherSuites = append(cfg.CipherSuites, id)
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	seen := map[int32]bool{}
	for _, id := range c.CurvePreferences {
		curve := tls.CurveID(id)
		switch {
		case id <= 0 || id > 0xffff:
			return nil, fmt.Errorf("CurvePreferences: %d is out of range (1-65535)", id)
		case seen[id]:
			return nil, fmt.Errorf("CurvePreferences: %d is listed twice", id)
		case strings.HasPrefix(curve.String(), "CurveID("):
			return nil, fmt.Errorf("CurvePreferences: %d is not supported by this Go version", id)
		}
		seen[id] = true
		cfg.CurvePreferences = append(cfg.CurvePreferences, curve)
	}
	if clientCAs != nil {
		cfg.ClientAuth = tls.RequestClientCert
		cfg.ClientCAs = clientCAs
	}
	return cfg, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
