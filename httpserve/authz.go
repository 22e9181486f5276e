package httpserve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// verdict is an authorization decision. reason is shown in 403 bodies; err, when set on a
// verdict that does not allow, turns the answer into a 500. A verdict neither allowed nor denied
// is the reviewers' lack of an opinion, which refuses too.
type verdict struct {
	allowed bool
	denied  bool
	reason  string
	err     error
}

// authzStatus is a cached SubjectAccessReview answer.
type authzStatus = authorizationv1.SubjectAccessReviewStatus

// authorizer decides, in upstream's order: members of system:masters are allowed, then
// always-allowed paths, then a SubjectAccessReview. The first to allow wins.
type authorizer struct {
	paths    pathMatcher
	reviewer SubjectAccessReviewer // nil: no reviews, so anything else is refused
	allowTTL time.Duration
	denyTTL  time.Duration
	cache    *ttlCache[authzStatus]
	metrics  *authMetrics // counts the SubjectAccessReview calls
}

// authorize decides whether u may use verb on the non-resource path.
func (a *authorizer) authorize(ctx context.Context, u *userInfo, path, verb string) verdict {
	if slices.Contains(u.Groups, mastersGroup) || a.paths.match(path) {
		return verdict{allowed: true}
	}
	if a.reviewer == nil {
		return verdict{}
	}
	spec := authorizationv1.SubjectAccessReviewSpec{
		User:                  u.Name,
		UID:                   u.UID,
		Groups:                u.Groups,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}
	if u.Extra != nil {
		spec.Extra = make(map[string]authorizationv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			spec.Extra[k] = v
		}
	}
	key, err := json.Marshal(spec)
	if err != nil {
		return verdict{err: fmt.Errorf("encoding a SubjectAccessReview: %w", err)}
	}
	st, ok := a.cache.get(string(key))
	if !ok {
		if st, err = a.ask(ctx, spec); err != nil {
			return verdict{err: err}
		}
		ttl := a.denyTTL
		if st.Allowed {
			ttl = a.allowTTL
		}
		a.cache.set(string(key), st, ttl)
	}
	switch {
	case st.Allowed && st.Denied:
		return verdict{reason: st.Reason, err: errors.New("SubjectAccessReview returned both allow and deny")}
	case st.Denied:
		return verdict{denied: true, reason: st.Reason}
	case st.Allowed:
		return verdict{allowed: true, reason: st.Reason}
	case st.Reason != "":
		// No opinion: upstream names the authorizer that gave the reason.
		return verdict{reason: "kubernetes.io/webhook: " + st.Reason}
	}
	return verdict{}
}

func (a *authorizer) ask(ctx context.Context, spec authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	start := time.Now()
	sar, err := a.reviewer.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	a.metrics.reviewed(err, time.Since(start))
	if err != nil {
		return authorizationv1.SubjectAccessReviewStatus{}, fmt.Errorf("creating a SubjectAccessReview: %w", err)
	}
	if sar == nil {
		return authorizationv1.SubjectAccessReviewStatus{}, errors.New("creating a SubjectAccessReview: empty response")
	}
	return sar.Status, nil
}

// pathMatcher matches request paths against AlwaysAllowPaths: exact paths, or prefixes written
// with a trailing "*". Leading slashes are ignored on both sides, as upstream does.
type pathMatcher struct {
	exact    map[string]bool
	prefixes []string
}

func newPathMatcher(paths []string) (pathMatcher, error) {
	m := pathMatcher{exact: map[string]bool{}}
	for _, p := range paths {
		p = strings.TrimPrefix(p, "/")
		if p == "" {
			m.exact[p] = true
			continue
		}
		if strings.Contains(p[:len(p)-1], "*") {
			return pathMatcher{}, fmt.Errorf("only a trailing * is allowed in %q", p)
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			m.prefixes = append(m.prefixes, prefix)
		} else {
			m.exact[p] = true
		}
	}
	return m, nil
}

func (m pathMatcher) match(path string) bool {
	path = strings.TrimPrefix(path, "/")
	if m.exact[path] {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
