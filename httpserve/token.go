package httpserve

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// reviewTimeout bounds each TokenReview and SubjectAccessReview call, as upstream's 10s client
// timeouts do.
const reviewTimeout = 10 * time.Second

var errInvalidToken = errors.New("invalid bearer token")

// tokenAuth authenticates "Authorization: Bearer" tokens with TokenReviews. Answers (authenticated
// or not) are cached under an HMAC of the token for ttl; failed reviews are not cached, and
// concurrent reviews of one token share a single call.
type tokenAuth struct {
	reviewer TokenReviewer
	ttl      time.Duration
	cache    *ttlCache[tokenAnswer]
	flight   singleflight.Group
	hmacKey  []byte
	metrics  *authMetrics // counts cache lookups and the reviews in flight; nil counts nothing
}

type tokenAnswer struct {
	user *userInfo // nil when not authenticated
}

func newTokenAuth(reviewer TokenReviewer, ttl time.Duration, now func() time.Time) (*tokenAuth, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("creating the token cache key: %w", err)
	}
	return &tokenAuth{reviewer: reviewer, ttl: ttl, cache: newTTLCache[tokenAnswer](now), hmacKey: key}, nil
}

func (a *tokenAuth) authenticate(r *http.Request) (*userInfo, bool, error) {
	token, ok := bearerToken(r.Header)
	if !ok {
		return nil, false, nil
	}
	ans, err := a.review(token)
	if err != nil {
		return nil, false, err
	}
	if ans.user == nil {
		return nil, false, errInvalidToken
	}
	return ans.user, true, nil
}

// bearerToken extracts the token the way the API server does: a case-insensitive "Bearer"
// scheme, then the next space-separated field.
func bearerToken(h http.Header) (string, bool) {
	auth := strings.TrimSpace(h.Get("Authorization"))
	parts := strings.SplitN(auth, " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}

// review answers from the cache or with a TokenReview. As upstream, a lookup is a hit or a miss
// (timed until its answer), a miss is "blocked" while it waits for the (possibly shared) review,
// and each review is "in flight" until it ends, ok or in error.
func (a *tokenAuth) review(token string) (tokenAnswer, error) {
	start := time.Now()
	mac := hmac.New(sha256.New, a.hmacKey)
	mac.Write([]byte(token))
	key := string(mac.Sum(nil))
	if ans, ok := a.cache.get(key); ok {
		a.metrics.tokenLookup(true, start)
		return ans, nil
	}
	defer a.metrics.tokenLookup(false, start)
	defer a.metrics.tokenBlocking()()
	v, err, _ := a.flight.Do(key, func() (_ any, err error) {
		fetched := a.metrics.tokenFetching()
		defer func() { fetched(err == nil) }()
		if ans, ok := a.cache.get(key); ok {
			return ans, nil
		}
		// The call may be shared by several requests, so no single request's context owns it.
		ctx, cancel := context.WithTimeout(context.Background(), reviewTimeout)
		defer cancel()
		ans, err := a.ask(ctx, token)
		if err != nil {
			return tokenAnswer{}, err
		}
		a.cache.set(key, ans, a.ttl)
		return ans, nil
	})
	if err != nil {
		return tokenAnswer{}, err
	}
	return v.(tokenAnswer), nil
}

func (a *tokenAuth) ask(ctx context.Context, token string) (tokenAnswer, error) {
	review, err := a.reviewer.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("creating a TokenReview: %w", err)
	}
	if review == nil {
		return tokenAnswer{}, errors.New("creating a TokenReview: empty response")
	}
	st := review.Status
	if !st.Authenticated {
		if st.Error != "" {
			// Upstream treats a reported error as a failure, which is not cached.
			return tokenAnswer{}, fmt.Errorf("TokenReview: %s", st.Error)
		}
		return tokenAnswer{}, nil
	}
	var extra map[string][]string
	if st.User.Extra != nil {
		extra = make(map[string][]string, len(st.User.Extra))
		for k, v := range st.User.Extra {
			extra[k] = slices.Clone([]string(v))
		}
	}
	return tokenAnswer{user: &userInfo{
		Name:   st.User.Username,
		UID:    st.User.UID,
		Groups: slices.Clone(st.User.Groups),
		Extra:  extra,
	}}, nil
}
