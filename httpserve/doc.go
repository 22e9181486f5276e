// Package httpserve is kube-scheduler's secure serving endpoint (the --secure-port listener), built
// on net/http, crypto/tls and client-go alone.
//
// It serves HTTPS only: /healthz, /livez and /readyz with named checks, /metrics from a
// MetricsWriter, /metrics/slis (the health checks' results), /configz, the z-pages /flagz and
// /statusz (text, or JSON and YAML negotiated as the API server does: see negotiate.go), and
// /debug/pprof and PUT /debug/flags/v (the log verbosity) when profiling is enabled. Every
// request goes through
// the same delegated authentication and authorization chain kube-scheduler builds from
// k8s.io/apiserver:
//
//  1. Authentication. A front-proxy client certificate (verified against the request-header CA
//     and, if set, the allowed common names) identifies the user from the X-Remote-* style
//     headers; otherwise a client certificate verified against the client CA gives user = CN and
//     groups = O; otherwise a bearer token is sent to the API server as a TokenReview (results
//     cached by an HMAC of the token). Authenticated users gain the group system:authenticated.
//     A request that presents no credentials at all is the anonymous user system:anonymous in
//     group system:unauthenticated; a request whose credentials fail (untrusted certificate,
//     rejected token) gets 401 with a JSON Status body.
//  2. Authorization. Members of system:masters are allowed; paths in AlwaysAllowPaths are
//     allowed for anyone, including the anonymous user; everything else is a non-resource
//     SubjectAccessReview (path, lower-cased HTTP method as the verb) whose answers are cached.
//     A refusal is 403 with a JSON Status body naming the user and path; a review that failed is
//  500. Without a SubjectAccessReviewer everything not allowed above is 403.
//
// Use:
//
//	srv, err := httpserve.New(cfg) // validates cfg, loads or generates the serving certificate
//	err = srv.AddHealthCheck("leaderElection", watchdog, httpserve.Healthz, httpserve.Readyz)
//	err = srv.Listen()             // binds the port: the caller may now report it open
//	err = srv.Serve(ctx)           // serves until ctx is done, then shuts down gracefully
//
// The package knows nothing about scheduling: metrics, configuration and health checks are
// handed to it through small interfaces and functions. LookupAuthentication reads the cluster's
// extension-apiserver-authentication ConfigMap the way kube-scheduler does. kubeclient's
// TokenReviews(), SubjectAccessReviews() and ConfigMaps(namespace), like client-go's typed
// clients, satisfy TokenReviewer, SubjectAccessReviewer and ConfigMapGetter directly.
package httpserve
