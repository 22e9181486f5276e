package httpserve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// defaultComponentName is what the z-pages call the component when Config.ComponentName is
// empty: berth stands in for kube-scheduler, and tools read the name.
const defaultComponentName = "kube-scheduler"

// zpageWarning is the second line of every text z-page, as upstream writes it.
const zpageWarning = "Warning: This endpoint is not meant to be machine parseable, has no formatting compatibility guarantees and is for debugging purposes only."

// zpageSeparators are the separators a text z-page puts between a name and its value; one is
// picked at random per page, as upstream does, so that nobody parses the text.
var zpageSeparators = []string{":", ": ", "=", " "}

// StatusInfo is what /statusz reports about the binary.
type StatusInfo struct {
	// StartTime is when the process started; the zero time disables /statusz.
	StartTime time.Time
	// BinaryVersion and EmulationVersion are versions without a leading "v" ("1.37.0",
	// "1.37"), as upstream prints them. An empty EmulationVersion is left out.
	BinaryVersion, EmulationVersion string
	// GoVersion is the Go release the binary was built with; empty means runtime.Version().
	GoVersion string
}

// flagzObject is the structured /flagz answer (config.k8s.io Flagz).
type flagzObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Flags             map[string]string `json:"flags,omitempty"`
}

// statuszObject is the structured /statusz answer (config.k8s.io Statusz).
type statuszObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	StartTime         metav1.Time `json:"startTime"`
	UptimeSeconds     int64       `json:"uptimeSeconds"`
	GoVersion         string      `json:"goVersion"`
	BinaryVersion     string      `json:"binaryVersion"`
	EmulationVersion  string      `json:"emulationVersion,omitempty"`
	Paths             []string    `json:"paths"`
}

// zpage serves one z-page: its text form, or its structured form when negotiated.
type zpage struct {
	kind      string // "Flagz", "Statusz"
	component string
	// text writes the page's body after the common header, with sep between names and values.
	text func(b *bytes.Buffer, sep string)
	// object returns the structured page (TypeMeta and metadata are filled in by ServeHTTP).
	object func() any
}

func (z zpage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	choice, ok := negotiateZPage(r.Header.Get("Accept"), z.kind, true)
	if !ok {
		writeNotAcceptable(w, r)
		return
	}
	if choice.mediaType == mediaText {
		var b bytes.Buffer
		fmt.Fprintf(&b, "\n%s %s\n%s\n", z.component, strings.ToLower(z.kind), zpageWarning)
		z.text(&b, zpageSeparators[rand.IntN(len(zpageSeparators))])
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = b.WriteTo(w)
		return
	}
	body, err := encodeZPage(z.object(), metav1.TypeMeta{Kind: z.kind, APIVersion: zpageGroup + "/" + choice.version},
		metav1.ObjectMeta{Name: z.component}, choice.mediaType, choice.pretty || prettyByDefault(r))
	if err != nil {
		http.Error(w, fmt.Sprintf("encoding %s: %v", strings.ToLower(z.kind), err), http.StatusInternalServerError)
		return
	}
	if choice.version == zpageDeprecated {
		w.Header().Set("Warning", fmt.Sprintf(`299 - "This version of the %s endpoint is deprecated. Please use a newer version."`, strings.ToLower(z.kind)))
	}
	w.Header().Set("Content-Type", fmt.Sprintf("%s;g=%s;v=%s;as=%s", choice.mediaType, zpageGroup, choice.version, z.kind))
	_, _ = w.Write(body)
}

// encodeZPage writes obj (a *flagzObject or *statuszObject) with its type and metadata set, in
// JSON (indented when pretty, else one line and a newline) or YAML.
func encodeZPage(obj any, tm metav1.TypeMeta, om metav1.ObjectMeta, mediaType string, pretty bool) ([]byte, error) {
	switch o := obj.(type) {
	case *flagzObject:
		o.TypeMeta, o.ObjectMeta = tm, om
	case *statuszObject:
		o.TypeMeta, o.ObjectMeta = tm, om
	}
	return encodeAs(obj, mediaType, pretty)
}

func encodeAs(obj any, mediaType string, pretty bool) ([]byte, error) {
	switch {
	case mediaType == mediaYAML:
		j, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		return yaml.JSONToYAML(j)
	case pretty:
		return json.MarshalIndent(obj, "", "  ")
	}
	j, err := json.Marshal(obj)
	return append(j, '\n'), err
}

// prettyByDefault is the API server's rule for indenting JSON: ?pretty=true, or a client that
// is probably a person (curl, wget, a browser).
func prettyByDefault(r *http.Request) bool {
	if strings.Contains(r.URL.RawQuery, "pretty") {
		if v := r.URL.Query().Get("pretty"); v != "" {
			return v == "1" || strings.EqualFold(v, "t") || strings.EqualFold(v, "true")
		}
	}
	ua := r.UserAgent()
	return strings.HasPrefix(ua, "curl") || strings.HasPrefix(ua, "Wget") || strings.HasPrefix(ua, "Mozilla/5.0")
}

// writeNotAcceptable answers 406 with a v1 Status listing the media types the z-pages offer,
// in JSON or YAML as the Accept header allows, else indented JSON.
func writeNotAcceptable(w http.ResponseWriter, r *http.Request) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  "only the following media types are accepted: " + strings.Join(zpageMediaTypes, ", "),
		Reason:   metav1.StatusReasonNotAcceptable,
		Code:     http.StatusNotAcceptable,
	}
	choice, ok := negotiateZPage(r.Header.Get("Accept"), "", false)
	mediaType, pretty := choice.mediaType, choice.pretty || prettyByDefault(r)
	if !ok || mediaType == mediaText {
		mediaType, pretty = mediaJSON, true
	}
	body, err := encodeAs(&st, mediaType, pretty)
	if err != nil {
		http.Error(w, st.Message, http.StatusNotAcceptable)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(http.StatusNotAcceptable)
	_, _ = w.Write(body)
}

// flagzPage serves /flagz from flags, read per request.
func flagzPage(component string, flags func() map[string]string) zpage {
	return zpage{
		kind: "Flagz", component: component,
		text: func(b *bytes.Buffer, sep string) {
			all := flags()
			names := make([]string, 0, len(all))
			for name := range all {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				fmt.Fprintf(b, "%s%s%s\n", name, sep, all[name])
			}
		},
		object: func() any { return &flagzObject{Flags: flags()} },
	}
}

// statuszPage serves /statusz: info, and the first segments of the listed paths.
func statuszPage(component string, info StatusInfo, paths func() []string, now func() time.Time) zpage {
	if info.GoVersion == "" {
		info.GoVersion = runtime.Version()
	}
	start := info.StartTime.Truncate(time.Second)
	uptime := func() int64 { return max(0, int64(now().Sub(start).Seconds())) }
	return zpage{
		kind: "Statusz", component: component,
		text: func(b *bytes.Buffer, sep string) {
			sep = html.EscapeString(sep)
			up := uptime()
			fmt.Fprintf(b, "\nStarted%s %s\n", sep, html.EscapeString(start.Format(time.UnixDate)))
			fmt.Fprintf(b, "Up%s %s\n", sep, fmt.Sprintf("%d hr %02d min %02d sec", up/3600, (up/60)%60, up%60))
			fmt.Fprintf(b, "Go version%s %s\n", sep, html.EscapeString(info.GoVersion))
			fmt.Fprintf(b, "Binary version%s %s\n", sep, html.EscapeString(info.BinaryVersion))
			if info.EmulationVersion != "" {
				fmt.Fprintf(b, "Emulation version%s %s", sep, html.EscapeString(info.EmulationVersion))
			}
			b.WriteByte('\n')
			if p := topLevelPaths(paths()); len(p) > 0 {
				fmt.Fprintf(b, "Paths%s %s", sep, html.EscapeString(strings.Join(p, " ")))
			}
			b.WriteByte('\n')
		},
		object: func() any {
			return &statuszObject{
				StartTime:        metav1.NewTime(start),
				UptimeSeconds:    uptime(),
				GoVersion:        info.GoVersion,
				BinaryVersion:    info.BinaryVersion,
				EmulationVersion: info.EmulationVersion,
				Paths:            topLevelPaths(paths()),
			}
		},
	}
}

// topLevelPaths reduces paths to their distinct first segments ("/metrics/slis" -> "/metrics"),
// sorted, leaving out the API server's non-debugging groups, as upstream's /statusz does.
func topLevelPaths(paths []string) []string {
	skip := map[string]bool{"/api": true, "/apis": true, "/openid": true, "/openapi": true, "/.well-known": true}
	var out []string
	for _, p := range paths {
		segment, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if segment == "" || skip["/"+segment] {
			continue
		}
		out = append(out, "/"+segment)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
